"""A simulated reviewer driven by ground truth, and the cost model that prices its actions.

Used to measure what model assistance saves (``bench/learning_loop.py``) without people. For each
image the reviewer sees the proposals at or above the display threshold and reviews them as
:func:`nblabel.core.cost.replay` says (accept, edit, reject, then draw what is missing), priced
by :class:`~nblabel.core.cost.CostModel` against drawing every object by hand (both are
re-exported here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nblabel.core.cost import CostModel, ImageReview, replay
from nblabel.core.labels import Box, Proposal
from nblabel.core.rules import DEFAULT_THRESHOLD, visible

if TYPE_CHECKING:
    import fiftyone as fo

    from nblabel.reviewing.editor.session import ReviewSession

__all__ = ["CostModel", "ImageReview", "SimulatedReviewer", "simulate_review",
           "truth_from_field"]


@dataclass(frozen=True)
class SimulatedReviewer:
    """Reviews proposals against the true objects (see the module doc)."""

    accept_iou: float = 0.7
    edit_iou: float = 0.3
    threshold: float = DEFAULT_THRESHOLD
    cost: CostModel = field(default_factory=CostModel)

    def review(self, proposals: Sequence[Proposal], truth: Sequence[tuple[str, Box]]
               ) -> ImageReview:
        shown = [p for p in proposals if visible(p.confidence, self.threshold)]
        out = replay(shown, truth, accept_iou=self.accept_iou, edit_iou=self.edit_iou)
        out.hidden = len(proposals) - len(shown)
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
