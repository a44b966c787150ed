"""Box geometry written once: IoU, and greedy clustering of boxes.

Boxes here are ``(x, y, w, h)`` sequences in any one unit (pixels or FiftyOne's relative
coordinates: IoU does not depend on the unit). :meth:`nblabel.core.labels.Box.iou`, the
ensemble's weighted box fusion and the consensus merge all use these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

__all__ = ["XYWH", "greedy_clusters", "iou"]

XYWH = Sequence[float]
T = TypeVar("T")


def iou(a: XYWH, b: XYWH) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes (0 when either is empty)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


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
