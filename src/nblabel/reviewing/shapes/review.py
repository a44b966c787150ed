"""Review of keypoint instances or polylines, image by image: the session behind the shapes
widget, usable alone.

:class:`ShapeReview` goes through a dataset's images, lowest keypoint confidence first
(:func:`nblabel.curation.shapes.shape_queue`), lays the journal's decisions over the proposed
shapes (a kernel that died loses nothing) and applies the actions of
:mod:`nblabel.core.shapes`. Each action is one journal transaction (the shapes it changed, in
their final state) and one undo step, and the image's reviewed field (``gt_keypoints`` or
``gt_polylines``: the kept shapes) is rewritten at once.

Help that does not pay steps back: each finished image prices what reviewing its proposals
cost against placing its final shapes by hand (:func:`nblabel.core.cost.shape_seconds`); when
over the last ``WINDOW`` images the proposals cost more, :attr:`ShapeReview.assist` turns off
and the next images open without proposals (:meth:`ShapeReview.shapes_on` leaves them out;
``show_proposals()`` brings them back for one image).

The journal keeps these decisions under ``"<dataset>/shapes:<field>"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nblabel.core import shapes as sh
from nblabel.core.attributes import parse_attributes
from nblabel.core.cost import shape_seconds
from nblabel.core.labels import ImageSize
from nblabel.core.shapes import Shape, ShapeDecision, Skeleton
from nblabel.reviewing.editor.completion import complete_item
from nblabel.reviewing.editor.history import History, redo_items, undo_items
from nblabel.store import schema
from nblabel.store.claims import Claims
from nblabel.store.journal import DecisionJournal
from nblabel.store.schema import (
    CLAIM_FIELD,
    GT_KEYPOINTS_FIELD,
    GT_POLYLINES_FIELD,
    KEYPOINTS_FIELD,
    POLYLINES_FIELD,
    REVIEWED_TAG,
    REVIEWERS_FIELD,
    shapes_journal_key,
)
from nblabel.store.shapes import image_sizes, read_shapes, set_skeleton, skeleton_of, write_shapes

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["WINDOW", "ShapeReview"]

#: Finished images over which proposals must pay for themselves.
WINDOW = 5
Pair = tuple[Shape | None, Shape | None]



class ShapeReview:
    """Review the ``kind`` shapes (``"keypoints"`` or ``"polyline"``) of ``dataset``.
    Keypoints need a skeleton: the proposals' (stored by pre-annotation), or ``skeleton``
    (labeling from scratch)."""

    def __init__(self, dataset: fo.Dataset, *, journal: DecisionJournal,
                 kind: str = "keypoints", field: str | None = None,
                 gt_field: str | None = None, reviewer: str = "",
                 sample_ids: Sequence[str] | None = None,
                 skeleton: Skeleton | None = None, classes: Sequence[str] = (),
                 attributes: Mapping[str, Any] | None = None) -> None:
        from nblabel.curation.shapes import shape_queue

        self.dataset, self.journal, self.kind, self.reviewer = dataset, journal, kind, reviewer
        #: Classes offered for drawn and relabeled shapes besides those on the image.
        self.classes = list(classes)
        kp = kind == "keypoints"
        self.field = field or (KEYPOINTS_FIELD if kp else POLYLINES_FIELD)
        self.gt_field = gt_field or (GT_KEYPOINTS_FIELD if kp else GT_POLYLINES_FIELD)
        #: The shapes' attributes by class (:mod:`nblabel.core.attributes`): as declared, else
        #: from the dataset's FiftyOne label schema where one is set.
        declared = attributes if attributes is not None else \
            schema.label_schema_attributes(dataset, self.gt_field, self.field)
        self.attributes = parse_attributes(declared)
        schema.declare_shapes(dataset, self.gt_field, kind)
        schema.declare(dataset, {CLAIM_FIELD: "dict", REVIEWERS_FIELD: "list[str]"})
        #: Team review: the image shown is claimed for this reviewer (as images and videos are).
        self.claims = Claims(dataset, reviewer) if reviewer else None
        if kp and skeleton is not None:  # labeling from scratch: the points to place
            set_skeleton(dataset, self.field, skeleton)
        self.skeleton: Skeleton | None = skeleton_of(dataset, self.field) if kp else None
        if kp and self.skeleton is None:
            raise ValueError(f"dataset {dataset.name!r} has no skeleton for {self.field!r}: "
                             "pass skeleton=Skeleton(names, edges) to name the points")
        if kp and self.skeleton is not None and self.gt_field not in dataset.skeletons:
            set_skeleton(dataset, self.gt_field, self.skeleton)
        self.order: list[str] = list(sample_ids) if sample_ids is not None else \
            shape_queue(dataset, self.field, kind)
        #: What was wrong with stored proposals (points outside the image, skeleton mismatch).
        self.problems: list[str] = []
        self.proposed: dict[str, list[Shape]] = {}
        self.shapes: dict[str, dict[str, Shape]] = {}
        self.sizes: dict[str, ImageSize] = {}
        self.history: History[tuple[str, list[Pair]]] = History()
        self.measured: list[tuple[float, float]] = []
        #: Images of the order already reviewed (tagged), read once; :meth:`complete` adds.
        ids, tags = dataset.select(self.order).values(["id", "tags"]) if self.order else ([], [])
        self.reviewed: set[str] = {i for i, t in zip(ids, tags, strict=True)
                                   if REVIEWED_TAG in (t or [])}
        self._shown: set[str] = set()
        self._started: dict[str, float] = {}

    # -- images --------------------------------------------------------------------------------

    def load(self, sample_id: str) -> dict[str, Shape]:
        """The image's shapes now: proposals with the journal's decisions laid over them."""
        if sample_id in self.shapes:
            return self.shapes[sample_id]
        self.sizes.update(image_sizes(self.dataset, [sample_id]))
        proposed = read_shapes(self.dataset, [sample_id], self.field, self.kind,
                               self.problems)[sample_id]
        self.proposed[sample_id] = proposed
        now = {s.id: s for s in proposed}
        key = shapes_journal_key(self.dataset.name, self.field)
        for _, payload in self.journal.payloads(key, [sample_id]):
            d = ShapeDecision.from_dict(payload)
            if d.shape is not None:
                now[d.shape_id] = d.shape
            elif d.shape_id in {s.id for s in proposed}:
                now[d.shape_id] = next(s for s in proposed if s.id == d.shape_id)
            else:
                now.pop(d.shape_id, None)
        self.shapes[sample_id] = now
        self._started.setdefault(sample_id, time.monotonic())
        if self.assist:
            self._shown.add(sample_id)
        return now

    @property
    def assist(self) -> bool:
        """Whether proposals paid over the last :data:`WINDOW` finished images (or fewer than
        two are measured yet)."""
        recent = self.measured[-WINDOW:]
        return len(recent) < 2 or sum(r for r, _ in recent) <= sum(h for _, h in recent)

    def show_proposals(self, sample_id: str) -> None:
        """Show this image's proposals even though help is stepped back."""
        self._shown.add(sample_id)

    def shapes_on(self, sample_id: str) -> list[Shape]:
        """What the reviewer sees: every decided or drawn shape, and the pending proposals
        unless help stepped back on this image."""
        now = self.load(sample_id).values()
        shown = sample_id in self._shown
        return [s for s in now if shown or s.status != "pending"]

    def pending(self, sample_id: str) -> list[str]:
        return [s.id for s in self.shapes_on(sample_id) if s.status == "pending"]

    # -- actions (each one journal transaction, one undo step) -------------------------------

    def _apply(self, sample_id: str, changed: Sequence[Shape]) -> list[Shape]:
        now = self.load(sample_id)
        pairs: list[Pair] = [(now.get(s.id), s) for s in changed]
        self._commit(sample_id, pairs)
        self.history.done((sample_id, pairs))
        return list(changed)

    def _commit(self, sample_id: str, pairs: Sequence[Pair]) -> None:
        now = self.load(sample_id)
        secs = time.monotonic() - self._started.get(sample_id, time.monotonic())
        decisions = []
        for old, new in pairs:
            sid = (new or old).id  # type: ignore[union-attr]
            decisions.append(ShapeDecision(sample_id, sid, new, self.reviewer, secs))
        self.journal.append_many(shapes_journal_key(self.dataset.name, self.field), decisions)
        for old, new in pairs:
            sid = (new or old).id  # type: ignore[union-attr]
            if new is None:
                now.pop(sid, None)
            else:
                now[sid] = new
        self._write(sample_id)

    def _write(self, sample_id: str) -> None:
        kept = [s for s in self.load(sample_id).values() if s.kept]
        write_shapes(self.dataset, {sample_id: kept}, self.gt_field, self.kind,
                     reviewer=self.reviewer, sizes=self.sizes)

    def _one(self, sample_id: str, shape_id: str, fn: Callable[[Shape], Shape]) -> Shape:
        shapes = self.load(sample_id)
        if shape_id not in shapes:
            raise ValueError(f"sample {sample_id} has no shape {shape_id!r}")
        return self._apply(sample_id, [fn(shapes[shape_id])])[0]

    def accept(self, sample_id: str, shape_id: str) -> Shape:
        return self._one(sample_id, shape_id, sh.accept)

    def reject(self, sample_id: str, shape_id: str) -> Shape:
        return self._one(sample_id, shape_id, sh.reject)

    def accept_point(self, sample_id: str, shape_id: str, i: int) -> Shape:
        return self._one(sample_id, shape_id, lambda s: sh.accept_point(s, i))

    def reject_point(self, sample_id: str, shape_id: str, i: int) -> Shape:
        return self._one(sample_id, shape_id, lambda s: sh.reject_point(s, i))

    def hide_point(self, sample_id: str, shape_id: str, i: int) -> Shape:
        return self._one(sample_id, shape_id, lambda s: sh.hide_point(s, i))

    def move_point(self, sample_id: str, shape_id: str, i: int, xy: Sequence[float]) -> Shape:
        size = self.sizes.get(sample_id)
        return self._one(sample_id, shape_id, lambda s: sh.move_point(s, i, xy, size))

    def reshape(self, sample_id: str, shape_id: str, points: Sequence[Sequence[float]],
                closed: bool | None = None) -> Shape:
        size = self.sizes.get(sample_id)
        return self._one(sample_id, shape_id, lambda s: sh.reshape(s, points, size, closed))

    def set_attributes(self, sample_id: str, shape_id: str,
                       values: Mapping[str, Any]) -> Shape:
        """Set attributes of a shape (None clears one), checked against the declaration for
        its class; the shape is kept (accepted, or still edited/added). One action, one undo
        step."""
        from dataclasses import replace

        def apply(s: Shape) -> Shape:
            merged = {k: v for k, v in {**s.attributes,
                                        **self.attributes.check(s.label, values)}.items()
                      if v is not None}
            return sh.accept(replace(s, attributes=merged))

        return self._one(sample_id, shape_id, apply)

    def relabel(self, sample_id: str, shape_id: str, label: str) -> Shape:
        from dataclasses import replace

        return self._one(sample_id, shape_id, lambda s: sh.accept(replace(s, label=label)))

    def add(self, sample_id: str, label: str, points: Sequence[Sequence[float] | None],
            closed: bool = False) -> Shape:
        """A shape drawn by hand: a keypoint instance (one entry per skeleton point, None for
        those not placed yet) or a polyline."""
        self.load(sample_id)
        if self.kind == "keypoints" and self.skeleton is not None \
                and len(points) != len(self.skeleton.names):
            raise ValueError(f"a {label} instance needs {len(self.skeleton.names)} points "
                             f"(None for those not there), got {len(points)}")
        made = sh.new_shape(self.kind, label, points, size=self.sizes.get(sample_id),
                            closed=closed)
        return self._apply(sample_id, [made])[0]

    def delete(self, sample_id: str, shape_id: str) -> None:
        """Remove a shape drawn by hand (a proposal is rejected instead)."""
        shape = self.load(sample_id)[shape_id]
        if shape.id in {p.id for p in self.proposed[sample_id]}:
            self.reject(sample_id, shape_id)
            return
        pairs: list[Pair] = [(shape, None)]
        self._commit(sample_id, pairs)
        self.history.done((sample_id, pairs))

    def accept_rest(self, sample_id: str) -> list[Shape]:
        now = self.load(sample_id)
        rest = [sh.accept(now[sid]) for sid in self.pending(sample_id)]
        return self._apply(sample_id, rest) if rest else []

    def undo(self) -> str | None:
        """Put back what the last action changed; returns its image (None: nothing)."""
        return undo_items(self.history, self._commit)

    def redo(self) -> str | None:
        return redo_items(self.history, self._commit)

    def complete(self, sample_id: str) -> tuple[float, float]:
        """The image is reviewed: tagged, marked in the journal, and its review priced
        against drawing by hand (``(review, by_hand)`` seconds, see the module doc)."""
        if self.pending(sample_id):
            raise ValueError(f"{len(self.pending(sample_id))} shape(s) on sample {sample_id} "
                             "are still pending: accept or reject them first (accept_rest)")
        now = self.load(sample_id)
        shown = [p for p in self.proposed[sample_id] if sample_id in self._shown]
        cost = shape_seconds(shown, list(now.values()))
        self.measured.append(cost)
        complete_item(self.dataset, self.journal,
                      shapes_journal_key(self.dataset.name, self.field), sample_id,
                      self.reviewer, time.monotonic() - self._started.get(sample_id, 0.0))
        self.reviewed.add(sample_id)
        return cost
