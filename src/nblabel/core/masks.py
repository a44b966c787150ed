"""Instance masks between their forms: FiftyOne's (a mask covering the box), the whole image,
COCO's run-length encoding and polygons (YOLO segmentation, COCO polygons)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nblabel.core.labels import Box, ImageSize

__all__ = ["editable_polygon", "fill_polygon", "full_mask", "largest_part", "largest_polygon",
           "recrop", "rle"]


def _pixels(box: Box, size: ImageSize) -> tuple[int, int, int, int]:
    """The pixel rectangle ``(x, y, w, h)`` a mask covering ``box`` spans (at least 1 px)."""
    x1, y1 = round(box.x), round(box.y)
    return (x1, y1, max(1, min(size.width - x1, round(box.w))),
            max(1, min(size.height - y1, round(box.h))))


def full_mask(box_mask: np.ndarray, box: Box, size: ImageSize) -> np.ndarray:
    """A mask covering ``box`` (FiftyOne's form) placed in a whole-image mask. The box mask is
    resized to the box's pixel size when they differ (as FiftyOne does when drawing it)."""
    from PIL import Image

    x1, y1, w, h = _pixels(box, size)
    m = np.asarray(box_mask) > 0
    if m.shape != (h, w):
        m = np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize((w, h))) > 127
    out = np.zeros((size.height, size.width), bool)
    out[y1:y1 + h, x1:x1 + w] = m
    return out


def rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO's uncompressed run-length encoding of a whole-image mask (column-major runs,
    starting with background), exact, as ``pycocotools`` reads it."""
    flat = np.asarray(mask, bool).flatten(order="F")
    changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"counts": counts, "size": [int(mask.shape[0]), int(mask.shape[1])]}


def largest_polygon(mask: np.ndarray, epsilon: float = 0.5) -> list[tuple[float, float]]:
    """The outline of the mask's largest part as a polygon in pixels (simplified within
    ``epsilon`` px); empty when the mask is."""
    import cv2

    contours, _ = cv2.findContours(np.asarray(mask, np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    if not contours:
        return []
    c = max(contours, key=cv2.contourArea)
    c = cv2.approxPolyDP(c, epsilon, True)
    return [(float(x) + 0.5, float(y) + 0.5) for [[x, y]] in c]


def recrop(box_mask: np.ndarray, old: Box, new: Box, size: ImageSize) -> np.ndarray | None:
    """The mask of a box moved or resized from ``old`` to ``new``: the same image pixels, cut
    to the new box (not stretched); ``None`` when nothing of it is left inside."""
    whole = full_mask(box_mask, old, size)
    x1, y1, w, h = _pixels(new, size)
    crop = whole[y1:y1 + h, x1:x1 + w]
    return crop if crop.any() else None


def fill_polygon(points: list[tuple[float, float]] | np.ndarray, size: ImageSize) -> np.ndarray:
    """The whole-image mask inside a polygon given in pixels (the inverse of
    :func:`largest_polygon`, whose vertices sit at pixel centres)."""
    import cv2

    out = np.zeros((size.height, size.width), np.uint8)
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) >= 3:
        cv2.fillPoly(out, [np.round(pts - 0.5).astype(np.int32)], 1)
    return out > 0


def largest_part(mask: np.ndarray) -> np.ndarray:
    """The mask's largest 8-connected part (all False when the mask is empty)."""
    import cv2

    m = np.asarray(mask, np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return np.zeros(m.shape, bool)
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def editable_polygon(mask: np.ndarray, max_vertices: int = 100) -> list[tuple[float, float]]:
    """The outline of the mask's largest part with at most ``max_vertices`` corners, for editing
    by hand: simplified within 0.75 px, the tolerance doubled until few enough are left."""
    epsilon = 0.75
    poly = largest_polygon(mask, epsilon)
    while len(poly) > max_vertices:
        epsilon *= 2
        poly = largest_polygon(mask, epsilon)
    return poly
