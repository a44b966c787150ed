"""Re-tracking from a box the reviewer fixed: follow it forward on the following frames.

:func:`follow` is template matching (OpenCV's normalised cross-correlation) in a window around
the box's last position, with the template refreshed from confident matches, so it follows an
object that changes slowly. It stops where the best match scores below ``min_score`` (the
object is hidden or gone): the frames after that keep the tracker's boxes, or a fix spreads to
them. No model, no GPU: a few milliseconds a frame at 1080p, fast enough to run on a key press
over a few seconds of video.

Why not SAM 2 or a learned tracker: they need weights downloaded and a GPU to answer at the
speed of a key press (SAM 2 needs 40-80 GB on minute-long videos, facebookresearch/sam2#196);
a user who has one can run it as a tracker (:class:`~nblabel.sources.tracker.CallableTracker`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["follow"]

XYWH = tuple[float, float, float, float]


def follow(frames: Iterable[np.ndarray], box: XYWH, *, min_score: float = 0.5,
           search: float = 1.0, refresh: float = 0.8) -> list[XYWH]:
    """The box on each of ``frames`` after the first (which holds ``box``), until the match is
    lost: ``search`` box sizes around the last position are searched; the template is taken
    again from a match scoring at least ``refresh``."""
    import cv2

    it = iter(frames)
    first = next(it, None)
    if first is None:
        return []
    gray = cv2.cvtColor(first, cv2.COLOR_RGB2GRAY)
    x, y, w, h = (round(v) for v in box)
    H, W = gray.shape
    x, y = max(0, min(x, W - 2)), max(0, min(y, H - 2))
    w, h = max(2, min(w, W - x)), max(2, min(h, H - y))
    template = gray[y:y + h, x:x + w].copy()
    out: list[XYWH] = []
    for frame in it:
        g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        mx, my = int(search * w), int(search * h)
        x0, y0 = max(0, x - mx), max(0, y - my)
        x1, y1 = min(W, x + w + mx), min(H, y + h + my)
        window = g[y0:y1, x0:x1]
        if window.shape[0] < h or window.shape[1] < w:
            break
        scores = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        if best < min_score:
            break
        x, y = x0 + bx, y0 + by
        out.append((float(x), float(y), float(w), float(h)))
        if best >= refresh:
            template = g[y:y + h, x:x + w].copy()
    return out
