"""What every review widget shares: the base widget (dispatch, answers, refusals), the media
worker, the contract of constants both sides read, the session and its history, claims and
background sync."""
