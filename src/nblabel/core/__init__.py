"""The pure core: labels and their validation, box geometry, the review rules and image
loading. No FiftyOne, MongoDB or torch here."""
