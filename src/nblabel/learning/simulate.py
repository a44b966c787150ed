"""A simulated reviewer driven by ground truth, and the cost model that prices its actions.

Used to measure what model assistance saves (``bench/learning_loop.py``) without people. For each
image the reviewer sees the proposals at or above the display threshold, most confident first:

- **accept** a proposal that overlaps a not yet matched true object with IoU >= ``accept_iou``
  (0.7) and has its class;
- **edit** one on a true object (IoU >= ``edit_iou``, 0.3) whose fit is poor or class is wrong:
  the box becomes the true box, the label the true label;
- **reject** the others (false positives, duplicates);
- **draw** every true object left without a proposal.

Labeling the same image by hand from scratch is one draw per object. Seconds come from
:class:`CostModel` (defaults: accept 1 s, reject 1 s, edit 4 s, draw 7 s, and 1 s per image to
look at it and move on, for both ways of labeling).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nblabel.core.geometry import greedy_match
from nblabel.core.labels import Box, Proposal
from nblabel.core.rules import DEFAULT_THRESHOLD, visible

if TYPE_CHECKING:
    import fiftyone as fo

    from nblabel.reviewing.session import ReviewSession

__all__ = ["CostModel", "ImageReview", "SimulatedReviewer", "simulate_review",
           "truth_from_field"]


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
    """What the simulated reviewer did on one image."""

    accepted: list[Proposal] = field(default_factory=list)
    rejected: list[Proposal] = field(default_factory=list)
    edited: list[tuple[Proposal, str, Box]] = field(default_factory=list)  # proposal, label, box
    drawn: list[tuple[str, Box]] = field(default_factory=list)
    hidden: int = 0  # proposals below the threshold (not shown, no action)

    @property
    def actions(self) -> int:
        return len(self.accepted) + len(self.rejected) + len(self.edited) + len(self.drawn)

    def seconds(self, cost: CostModel) -> float:
        return cost.seconds(len(self.accepted), len(self.rejected), len(self.edited),
                            len(self.drawn))

    def labels(self) -> list[tuple[str, Box]]:
        """The reviewed labels the image ends with."""
        return ([(p.label, p.box) for p in self.accepted]
                + [(label, box) for _, label, box in self.edited] + list(self.drawn))


@dataclass(frozen=True)
class SimulatedReviewer:
    """Reviews proposals against the true objects (see the module doc)."""

    accept_iou: float = 0.7
    edit_iou: float = 0.3
    threshold: float = DEFAULT_THRESHOLD
    cost: CostModel = field(default_factory=CostModel)

    def review(self, proposals: Sequence[Proposal], truth: Sequence[tuple[str, Box]]
               ) -> ImageReview:
        out = ImageReview()
        shown = sorted((p for p in proposals if visible(p.confidence, self.threshold)),
                       key=lambda p: -(p.confidence or 0.0))
        out.hidden = len(proposals) - len(shown)
        free = set(range(len(truth)))
        # Each shown proposal, most confident first, takes the true object it overlaps most
        # (the right class among equally good overlaps).
        matches = greedy_match([p.box.as_list() for p in shown],
                               [b.as_list() for _, b in truth], min_iou=self.edit_iou,
                               prefer=lambda i, j: truth[j][0] == shown[i].label)
        for p, (best, best_iou) in zip(shown, matches, strict=True):
            if best is None:
                out.rejected.append(p)
                continue
            label, box = truth[best]
            free.discard(best)
            if best_iou >= self.accept_iou and label == p.label:
                out.accepted.append(p)
            else:
                out.edited.append((p, label, box))
        out.drawn = [truth[i] for i in sorted(free)]
        return out


def simulate_review(
    session: ReviewSession,
    sample_ids: Iterable[str],
    truth: Mapping[str, Sequence[tuple[str, Box]]],
    reviewer: SimulatedReviewer | None = None,
) -> list[ImageReview]:
    """Review ``sample_ids`` in ``session`` as :class:`SimulatedReviewer` would, through the
    real decision path (journal, then FiftyOne), moving past each image when done.
    ``truth``: per sample id, its true ``(label, box)`` objects in pixels."""
    reviewer = reviewer or SimulatedReviewer()
    reviews = []
    for sid in sample_ids:
        state = session.load(sid)
        review = reviewer.review(state.proposals, truth.get(sid, ()))
        for p in review.accepted:
            session.decide(state, p.id, "accepted")
        for p in review.rejected:
            session.decide(state, p.id, "rejected")
        for p, label, box in review.edited:
            session.decide(state, p.id, "edited", label=label, box=box)
        for label, box in review.drawn:
            session.add(state, label, box)
        session.complete(sid)  # moves on: proposals below the threshold stay undecided
        reviews.append(review)
    return reviews


def truth_from_field(view: fo.core.collections.SampleCollection, field: str = "truth"
                     ) -> dict[str, list[tuple[str, Box]]]:
    """Per sample id, the ``(label, pixel box)`` objects of a Detections field (the generated
    truth of the demo data sets); image sizes come from ``metadata``, computed if missing."""
    from nblabel.core.labels import ImageSize

    view.compute_metadata()
    ids, dets, widths, heights = view.values(["id", field, "metadata.width", "metadata.height"])
    out: dict[str, list[tuple[str, Box]]] = {}
    for sid, d, w, h in zip(ids, dets, widths, heights, strict=True):
        if d is None or not w or not h:
            out[sid] = []
            continue
        size = ImageSize(int(w), int(h))
        out[sid] = [(x.label, Box.from_relative(x.bounding_box, size)) for x in d.detections]
    return out
