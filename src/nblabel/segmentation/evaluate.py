"""Measuring interactive segmentation the way its papers do: simulated clicks and NoC.

The simulated user clicks at the pixel of the largest error region farthest from its border:
positive in a missed part, negative in a wrongly included one. ``NoC@t`` is the number of clicks
until the IoU with the true mask reaches ``t`` (``max_clicks`` when never). Two protocols:
clicks only (the first click in the middle of the object), and a box first, then clicks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nblabel.segmentation.base import Prompt, SegmentationError, Segmenter

if TYPE_CHECKING:
    from PIL import Image

    from nblabel.core.labels import Box

__all__ = ["iou", "next_click", "noc", "simulate"]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def next_click(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, bool]:
    """Where the simulated user clicks next (see the module doc)."""
    from scipy import ndimage as ndi

    missed = truth & ~pred
    extra = pred & ~truth
    best = (0.0, 0, 0, True)
    for region, positive in ((missed, True), (extra, False)):
        if not region.any():
            continue
        dist = ndi.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
        if dist[y, x] > best[0]:
            best = (float(dist[y, x]), int(x), int(y), positive)
    return best[1] + 0.5, best[2] + 0.5, best[3]


def simulate(segmenter: Segmenter, image: Image.Image, truth: np.ndarray, *,
             box: Box | None = None, max_clicks: int = 20) -> list[float]:
    """IoU after each step: with ``box``, element 0 is after the box alone and element k after
    k clicks; without, element k-1 is after k clicks (the first in the middle of the object)."""
    truth = np.asarray(truth, bool)
    pred = np.zeros_like(truth)
    points: list[tuple[float, float, bool]] = []
    out: list[float] = []
    if box is not None:
        pred = _safe(segmenter, image, Prompt(box=box), truth)
        out.append(iou(pred, truth))
    while len(points) < max_clicks:
        points.append(next_click(pred, truth))
        pred = _safe(segmenter, image, Prompt(box=box, points=tuple(points)), truth)
        out.append(iou(pred, truth))
    return out


def _safe(segmenter: Segmenter, image: Image.Image, prompt: Prompt, truth: np.ndarray
          ) -> np.ndarray:
    try:
        return np.asarray(segmenter.segment(image, prompt), bool)
    except SegmentationError:  # e.g. an empty answer: counts as nothing found
        return np.zeros_like(truth)


def noc(ious: list[float], threshold: float, *, box: bool = False, max_clicks: int = 20
        ) -> int:
    """Clicks until ``ious`` reaches ``threshold`` (``box``: element 0 is the box alone)."""
    for k, v in enumerate(ious):
        if v >= threshold:
            return k if box else k + 1
    return max_clicks
