"""Box geometry written once: IoU (one pair, or all pairs vectorised), intersection over the
smaller box, greedy one-to-one matching, and greedy clustering of boxes.

Boxes here are ``(x, y, w, h)`` sequences in any one unit (pixels or FiftyOne's relative
coordinates: IoU does not depend on the unit). :meth:`nblabel.core.labels.Box.iou`, the
ensemble's weighted box fusion and the consensus merge all use these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import numpy as np

__all__ = ["XYWH", "greedy_clusters", "greedy_match", "intersection_over_smaller", "iou",
           "iou_matrix", "nms"]

XYWH = Sequence[float]
T = TypeVar("T")


def iou(a: XYWH, b: XYWH) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes (0 when either is empty)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def intersection_over_smaller(a: XYWH, b: XYWH) -> float:
    """The intersection of two ``(x, y, w, h)`` boxes over the area of the smaller one (1 when
    one lies inside the other; 0 when they do not overlap)."""
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    return ix * iy / max(1e-9, min(a[2] * a[3], b[2] * b[3]))


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (n, 4) with every box of ``b`` (m, 4), both ``(x, y, w, h)``:
    an (n, m) array, the same values as :func:`iou`."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
                 - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
                 - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, max_iou: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, best score first: a box is dropped when
    it overlaps a kept one by IoU ``max_iou`` or more. Boxes ``(x, y, w, h)``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        order = rest[iou_matrix(boxes[i:i + 1], boxes[rest])[0] < max_iou]
    return keep


def greedy_match(
    boxes: Sequence[XYWH],
    others: Sequence[XYWH],
    *,
    min_iou: float = 0.0,
    allowed: Callable[[int, int], bool] = lambda i, j: True,
    prefer: Callable[[int, int], bool] = lambda i, j: False,
) -> list[tuple[int | None, float]]:
    """Match each of ``boxes`` in the order given (highest priority first) to the box of
    ``others`` it overlaps most among those still free and ``allowed(i, j)``; each of
    ``others`` is used once. Among equal overlaps, one where ``prefer(i, j)`` wins (e.g. the
    same class). A match needs an IoU of at least ``min_iou`` and above 0. Returns, per box,
    ``(index in others or None, its IoU)``."""
    free = set(range(len(others)))
    out: list[tuple[int | None, float]] = []
    for i, b in enumerate(boxes):
        best: int | None = None
        best_iou = 0.0
        for j in sorted(free):
            if not allowed(i, j):
                continue
            v = iou(b, others[j])
            if v > best_iou or (v == best_iou and best is not None and v > 0 and prefer(i, j)
                                and not prefer(i, best)):
                best, best_iou = j, v
        if best is None or best_iou < min_iou:
            out.append((None, best_iou))
            continue
        free.discard(best)
        out.append((best, best_iou))
    return out


def greedy_clusters(
    items: Iterable[T],
    box: Callable[[T], XYWH],
    *,
    min_iou: float,
    centre: Callable[[list[T]], XYWH],
    can_join: Callable[[list[T], T], bool] = lambda members, item: True,
) -> list[list[T]]:
    """Cluster ``items`` in the order given (highest priority first): each joins the cluster
    whose ``centre`` overlaps its box most (IoU at least ``min_iou``) among those it
    ``can_join``, or starts a new one. A cluster's centre is recomputed when it grows."""
    clusters: list[list[T]] = []
    centres: list[XYWH] = []
    for item in items:
        b = box(item)
        best, best_iou = -1, min_iou
        for c, members in enumerate(clusters):
            if not can_join(members, item):
                continue
            o = iou(centres[c], b)
            if o >= best_iou:
                best, best_iou = c, o
        if best < 0:
            clusters.append([item])
            centres.append(b)
        else:
            clusters[best].append(item)
            centres[best] = centre(clusters[best])
    return clusters
