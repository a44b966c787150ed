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

from nblabel.core.geometry import greedy_match
from nblabel.core.labels import Box, Proposal

__all__ = ["CostModel", "ImageReview", "replay"]


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
