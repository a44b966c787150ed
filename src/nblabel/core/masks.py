"""Instance masks between their forms: FiftyOne's (a mask covering the box), the whole image,
COCO's run-length encoding and polygons (YOLO segmentation, COCO polygons)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nblabel.core.labels import Box, ImageSize

__all__ = ["full_mask", "largest_polygon", "rle"]


def full_mask(box_mask: np.ndarray, box: Box, size: ImageSize) -> np.ndarray:
    """A mask covering ``box`` (FiftyOne's form) placed in a whole-image mask. The box mask is
    resized to the box's pixel size when they differ (as FiftyOne does when drawing it)."""
    from PIL import Image

    x1, y1 = round(box.x), round(box.y)
    w = max(1, min(size.width - x1, round(box.w)))
    h = max(1, min(size.height - y1, round(box.h)))
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
