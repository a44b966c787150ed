"""What reviewing proposals costs a person, against drawing every object by hand.

One rule for pricing help, used by the simulated reviewer (benchmarks), by every source's
self-measurement (:mod:`nblabel.core.ledger`) and by the widget's demotion of sources that do
not pay. :func:`replay` is what a reviewer does with proposals on an image whose final labels
are known, most confident first:

- **accept** a proposal that overlaps a not yet matched kept object with IoU >= ``accept_iou``
  (0.7) and has its class;
- **edit** one on a kept object (IoU >= ``edit_iou``, 0.3) whose fit is poor or class wrong;
- **reject** the others (false positives, duplicates);
- **draw** every kept object left without a proposal.

Labeling the same image by hand is one draw per object. Seconds come from :class:`CostModel`
(defaults: accept 1 s, reject 1 s, edit 4 s, draw 7 s, and 1 s per image to look at it and
move on, both ways). Those defaults follow published measurements: drawing a tight box takes
about 7 s (Papadopoulos et al., "We don't need no bounding-boxes", CVPR 2016: 7.0 s with
extreme clicking), verifying one about 1 to 2 s (the same group's "Training object class
detectors with click supervision" reports 1.6 s per yes/no verification).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nblabel.core.geometry import greedy_match
from nblabel.core.labels import Box, Proposal

__all__ = ["CostModel", "ImageReview", "PointCost", "replay", "replay_keypoints",
           "shape_seconds"]


@dataclass(frozen=True)
class CostModel:
    """Seconds per action (see the module doc for the defaults' meaning)."""

    accept: float = 1.0
    reject: float = 1.0
    edit: float = 4.0
    draw: float = 7.0
    per_image: float = 1.0

    def seconds(self, accepted: int, rejected: int, edited: int, drawn: int) -> float:
        return (self.per_image + accepted * self.accept + rejected * self.reject
                + edited * self.edit + drawn * self.draw)

    def manual_seconds(self, objects: int) -> float:
        """Labeling an image with ``objects`` objects by hand: one draw each."""
        return self.per_image + objects * self.draw


@dataclass
class ImageReview:
    """What a reviewer did (or would do) with the proposals on one image."""

    accepted: list[Proposal] = field(default_factory=list)
    rejected: list[Proposal] = field(default_factory=list)
    edited: list[tuple[Proposal, str, Box]] = field(default_factory=list)  # proposal, label, box
    drawn: list[tuple[str, Box]] = field(default_factory=list)
    hidden: int = 0  # proposals below the threshold (not shown, no action)
    #: IoU of each accepted or edited proposal with the object it matched.
    ious: list[float] = field(default_factory=list)

    @property
    def actions(self) -> int:
        return len(self.accepted) + len(self.rejected) + len(self.edited) + len(self.drawn)

    @property
    def shown(self) -> int:
        return len(self.accepted) + len(self.rejected) + len(self.edited)

    def seconds(self, cost: CostModel) -> float:
        return cost.seconds(len(self.accepted), len(self.rejected), len(self.edited),
                            len(self.drawn))

    def labels(self) -> list[tuple[str, Box]]:
        """The reviewed labels the image ends with."""
        return ([(p.label, p.box) for p in self.accepted]
                + [(label, box) for _, label, box in self.edited] + list(self.drawn))


def replay(shown: Sequence[Proposal], kept: Sequence[tuple[str, Box]], *,
           accept_iou: float = 0.7, edit_iou: float = 0.3) -> ImageReview:
    """The review of the ``shown`` proposals on an image that ends with the ``kept`` labels
    (see the module doc). Each proposal, most confident first, takes the kept object it
    overlaps most (the right class among equally good overlaps)."""
    out = ImageReview()
    order = sorted(shown, key=lambda p: -(p.confidence if p.confidence is not None else 1.0))
    free = set(range(len(kept)))
    matches = greedy_match([p.box.as_list() for p in order], [b.as_list() for _, b in kept],
                           min_iou=edit_iou, prefer=lambda i, j: kept[j][0] == order[i].label)
    for p, (best, best_iou) in zip(order, matches, strict=True):
        if best is None:
            out.rejected.append(p)
            continue
        label, box = kept[best]
        free.discard(best)
        out.ious.append(float(best_iou))
        if best_iou >= accept_iou and label == p.label:
            out.accepted.append(p)
        else:
            out.edited.append((p, label, box))
    out.drawn = [kept[i] for i in sorted(free)]
    return out


@dataclass(frozen=True)
class PointCost:
    """Seconds per keypoint action (the keypoint review of :func:`replay_keypoints`).

    Placing a point costs what one precise click does in extreme clicking (7.0 s for 4 clicks,
    Papadopoulos et al., ICCV 2017: 1.75 s); dragging a wrong point there costs a little more
    (find it, grab it, drop it: 2 s); checking a proposed point is a glance along the skeleton
    (0.3 s each); marking a point occluded or not there is one key on the selected point
    (0.5 s, 1 s with the selection). Starting an instance by hand costs 1 s (choose it, its
    class), accepting or rejecting a whole instance 1 s, as for boxes, and each image 1 s.
    """

    accept: float = 1.0
    reject: float = 1.0
    verify_point: float = 0.3
    drag_point: float = 2.0
    place_point: float = 1.75
    reject_point: float = 1.0
    toggle_visible: float = 0.5
    new_instance: float = 1.0
    per_image: float = 1.0

    def by_hand(self, instances: Sequence[Sequence[tuple[float, float, bool] | None]]) -> float:
        """Labeling an image's ``instances`` (points as ``(x, y, visible)`` or None) by hand."""
        return self.per_image + sum(self._draw(inst) for inst in instances)

    def _draw(self, inst: Sequence[tuple[float, float, bool] | None]) -> float:
        present = [p for p in inst if p is not None]
        return (self.new_instance + len(present) * self.place_point
                + sum(not p[2] for p in present) * self.toggle_visible)


def _scale(inst: Sequence[tuple[float, float, bool] | None]) -> float:
    xs = [p[0] for p in inst if p is not None]
    ys = [p[1] for p in inst if p is not None]
    if not xs:
        return 1.0
    return max(((max(xs) - min(xs)) * (max(ys) - min(ys))) ** 0.5, 1.0)


def replay_keypoints(shown: Sequence[tuple[float | None,
                                           Sequence[tuple[float, float, bool] | None]]],
                     kept: Sequence[Sequence[tuple[float, float, bool] | None]],
                     cost: PointCost | None = None, *, tolerance: float = 0.08,
                     min_px: float = 3.0) -> dict[str, float]:
    """Seconds to review keypoint proposals on an image that ends with the ``kept`` instances.

    ``shown`` are ``(confidence, points)``; points are ``(x, y, visible)`` or None. Proposals,
    most confident first, take the kept instance whose points they are nearest on average
    (relative to its size; no match beyond half its size): a matched proposal is accepted, its
    points checked, and each point further than ``tolerance`` of the instance's size (at least
    ``min_px``) dragged, each extra point removed, each missing one placed, each wrong
    visibility toggled; an unmatched proposal is rejected; an instance with no proposal is
    labeled by hand. Returns ``seconds``, ``by_hand`` and the action counts. The default
    tolerance lies between the per-point constants COCO's keypoint similarity (OKS) gives wrists
    (0.062) and ankles (0.089): a point that near is on the part.
    """
    c = cost or PointCost()
    out = {"seconds": c.per_image, "by_hand": c.by_hand(kept), "accepted": 0, "rejected": 0,
           "verified": 0, "dragged": 0, "placed": 0, "removed": 0, "toggled": 0, "drawn": 0}
    free = set(range(len(kept)))
    for _, pts in sorted(shown, key=lambda s: -(s[0] if s[0] is not None else 1.0)):
        best, best_d = None, 0.5
        for j in free:
            pairs = [(p, t) for p, t in zip(pts, kept[j], strict=False)
                     if p is not None and t is not None]
            if not pairs:
                continue
            d = sum(((p[0] - t[0]) ** 2 + (p[1] - t[1]) ** 2) ** 0.5
                    for p, t in pairs) / len(pairs) / _scale(kept[j])
            if d < best_d:
                best, best_d = j, d
        if best is None:
            out["rejected"] += 1
            out["seconds"] += c.reject
            continue
        free.discard(best)
        truth = kept[best]
        tol = max(tolerance * _scale(truth), min_px)
        out["accepted"] += 1
        out["seconds"] += c.accept
        for p, t in zip(pts, truth, strict=False):
            if p is None and t is None:
                continue
            if t is None:
                out["removed"] += 1
                out["seconds"] += c.reject_point
                continue
            if p is None:
                out["placed"] += 1
                out["seconds"] += c.place_point
            elif ((p[0] - t[0]) ** 2 + (p[1] - t[1]) ** 2) ** 0.5 > tol:
                out["dragged"] += 1
                out["seconds"] += c.drag_point
            else:
                out["verified"] += 1
                out["seconds"] += c.verify_point
            if (p[2] if p is not None else True) != t[2]:  # a placed point starts visible
                out["toggled"] += 1
                out["seconds"] += c.toggle_visible
    for j in sorted(free):
        out["drawn"] += 1
        out["seconds"] += c._draw(kept[j])
    return out


def shape_seconds(proposed: Sequence[Any], final: Sequence[Any],
                  cost: PointCost | None = None) -> tuple[float, float]:
    """Seconds a reviewer spent on an image's shapes (keypoint instances or polylines, see
    :mod:`nblabel.core.shapes`) going from the ``proposed`` ones to the ``final`` ones (same
    ids; ``final`` also holds the shapes drawn by hand), and what drawing the kept ones by hand
    would have cost: ``(review, by_hand)``. Priced with :class:`PointCost`; a polyline vertex
    counts as a point."""
    c = cost or PointCost()

    def draw(s: Any) -> float:
        pts = [(p[0], p[1], v) for p, v in zip(s.points, s.visible, strict=True)
               if p is not None]
        return c._draw(pts)

    by_id = {s.id: s for s in final}
    review, by_hand = c.per_image, c.per_image
    for s in final:
        if s.kept:
            by_hand += draw(s)
            if s.status == "added" and s.id not in {p.id for p in proposed}:
                review += draw(s)
    for p in proposed:
        f = by_id.get(p.id)
        if f is None or f.status == "pending":
            continue
        if not f.kept:
            review += c.reject
            continue
        review += c.accept
        if p.kind != "keypoints":
            same = f.points == p.points
            review += len(p.points) * c.verify_point if same else \
                sum(q not in p.points for q in f.points) * c.drag_point + \
                len(p.points) * c.verify_point
            continue
        for a, b, va, vb in zip(p.points, f.points, p.visible, f.visible, strict=True):
            if a is None and b is None:
                continue
            review += (c.reject_point if b is None else c.place_point if a is None
                       else c.verify_point if a == b else c.drag_point)
            if b is not None and a is not None and va != vb:
                review += c.toggle_visible
    return review, by_hand
