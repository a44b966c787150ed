"""Review of image-level labels, image by image: the session behind the labels widget, usable
alone.

:class:`LabelReview` goes through a dataset's images, the least certain first (a proposed label
nearest the threshold), lays the journal's decisions over the proposed labels (a kernel that
died loses nothing) and applies the actions of :mod:`nblabel.core.image_labels`: accept,
reject, accept every pending label at or above the threshold, add a missed one, relabel, set
attributes. Each action is one journal transaction (under ``"<dataset>/labels:<field>"``) and
one undo step (the one :class:`~nblabel.reviewing.editor.history.History`); the image's kept
labels are written at once to ``gt_field`` (``Classifications``) and, with ``tags=True``, as
its sample tags. Opening a session writes the journal's state of every image it holds
decisions for again, so a process that died between the journal and FiftyOne leaves nothing
stale once the review is reopened. Team review: the image shown is claimed; completing it
releases the claim.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nblabel.core import image_labels as il
from nblabel.core.attributes import parse_attributes
from nblabel.core.image_labels import ImageLabel, LabelDecision
from nblabel.reviewing.editor.completion import complete_item
from nblabel.reviewing.editor.history import History, redo_items, undo_items
from nblabel.store import schema
from nblabel.store.claims import Claims
from nblabel.store.image_labels import declare_labels, read_labels, write_labels
from nblabel.store.schema import (
    CLAIM_FIELD,
    GT_LABELS_FIELD,
    LABELS_FIELD,
    REVIEWED_TAG,
    REVIEWERS_FIELD,
    labels_journal_key,
)

if TYPE_CHECKING:
    import fiftyone as fo

    from nblabel.store.journal import DecisionJournal

__all__ = ["LabelReview"]

Pair = tuple[ImageLabel | None, ImageLabel | None]


class LabelReview:
    """Review the image-level labels proposed in ``field`` of ``dataset`` into ``gt_field``
    (see the module doc)."""

    def __init__(self, dataset: fo.Dataset, *, journal: DecisionJournal,
                 field: str = LABELS_FIELD, gt_field: str = GT_LABELS_FIELD,
                 reviewer: str = "", sample_ids: Sequence[str] | None = None,
                 classes: Sequence[str] = (), threshold: float = 0.5, tags: bool = False,
                 attributes: Mapping[str, Any] | None = None) -> None:
        self.dataset, self.journal, self.reviewer = dataset, journal, reviewer
        self.field, self.gt_field, self.threshold, self.tags = field, gt_field, threshold, tags
        self.classes = list(classes)
        #: The labels' attributes by class (:mod:`nblabel.core.attributes`).
        declared = attributes if attributes is not None else \
            schema.label_schema_attributes(dataset, gt_field or "", field or "")
        self.attributes = parse_attributes(declared)
        declare_labels(dataset, gt_field)
        schema.declare(dataset, {CLAIM_FIELD: "dict", REVIEWERS_FIELD: "list[str]"})
        self.claims = Claims(dataset, reviewer) if reviewer else None
        ids = list(sample_ids) if sample_ids is not None else list(dataset.values("id"))
        #: What was wrong with stored proposals, by sentence.
        self.problems: list[str] = []
        self.proposed = read_labels(dataset, ids, field, self.problems)
        self.labels: dict[str, dict[str, ImageLabel]] = {
            sid: {lab.id: lab for lab in labs} for sid, labs in self.proposed.items()}
        journaled: set[str] = set()
        for _, payload in journal.payloads(labels_journal_key(dataset.name, field), ids):
            d = LabelDecision.from_dict(payload)
            journaled.add(d.sample_id)
            now = self.labels.setdefault(d.sample_id, {})
            if d.state is not None:
                now[d.item_id] = d.state
            elif any(p.id == d.item_id for p in self.proposed.get(d.sample_id, [])):
                now[d.item_id] = next(p for p in self.proposed[d.sample_id]
                                      if p.id == d.item_id)
            else:
                now.pop(d.item_id, None)
        if journaled:  # a process that died between the journal and FiftyOne: repair
            write_labels(dataset, {sid: list(self.labels[sid].values()) for sid in journaled},
                         gt_field, reviewer=reviewer, tags=tags, previous_tags={
                             sid: {lab.label for lab in self.proposed.get(sid, [])}
                             for sid in journaled})
        self.order = sorted(ids, key=self._doubt)
        tagged = dict(zip(*dataset.select(ids).values(["id", "tags"]), strict=True)) if ids \
            else {}
        #: Images of the order already reviewed (tagged), read once; :meth:`complete` adds.
        self.reviewed = {sid for sid, t in tagged.items() if REVIEWED_TAG in (t or [])}
        self.history: History[tuple[str, list[Pair]]] = History()
        self._started: dict[str, float] = {}

    def _doubt(self, sid: str) -> float:
        """How close the image's most doubtful proposal is to the threshold (least first;
        images with nothing proposed last)."""
        confs = [lab.confidence for lab in self.proposed.get(sid, [])
                 if lab.confidence is not None]
        return min((abs(c - self.threshold) for c in confs), default=2.0)

    # -- what is shown ------------------------------------------------------------------------

    def labels_on(self, sample_id: str) -> list[ImageLabel]:
        """The image's labels now: most confident first, added ones last."""
        self._started.setdefault(sample_id, time.monotonic())
        labs = self.labels.setdefault(sample_id, {}).values()
        return sorted(labs, key=lambda lab: (lab.confidence is None, -(lab.confidence or 0.0)))

    def pending(self, sample_id: str) -> list[str]:
        return [lab.id for lab in self.labels_on(sample_id) if lab.status == "pending"]

    # -- actions (each one journal transaction, one undo step) --------------------------------

    def _get(self, sample_id: str, label_id: str) -> ImageLabel:
        try:
            return self.labels[sample_id][label_id]
        except KeyError:
            raise KeyError(f"no image label {label_id!r} on sample {sample_id}") from None

    def _apply(self, sample_id: str, changed: Sequence[ImageLabel]) -> list[ImageLabel]:
        now = self.labels.setdefault(sample_id, {})
        pairs: list[Pair] = [(now.get(lab.id), lab) for lab in changed]
        self._commit(sample_id, pairs)
        self.history.done((sample_id, pairs))
        return list(changed)

    def _commit(self, sample_id: str, pairs: Sequence[Pair]) -> None:
        now = self.labels.setdefault(sample_id, {})
        before = {lab.label for lab in now.values() if lab.kept}
        secs = time.monotonic() - self._started.get(sample_id, time.monotonic())
        records = [LabelDecision(sample_id, (new or old).id, new,  # type: ignore[union-attr]
                                 self.reviewer, secs) for old, new in pairs]
        self.journal.append_many(labels_journal_key(self.dataset.name, self.field), records)
        for old, new in pairs:
            lid = (new or old).id  # type: ignore[union-attr]
            if new is None:
                now.pop(lid, None)
            else:
                now[lid] = new
        write_labels(self.dataset, {sample_id: list(now.values())}, self.gt_field,
                     reviewer=self.reviewer, tags=self.tags, previous_tags={sample_id: before})

    def accept(self, sample_id: str, label_id: str) -> list[ImageLabel]:
        return self._apply(sample_id, [il.accept(self._get(sample_id, label_id))])

    def reject(self, sample_id: str, label_id: str) -> list[ImageLabel]:
        return self._apply(sample_id, [il.reject(self._get(sample_id, label_id))])

    def accept_above(self, sample_id: str, threshold: float | None = None) -> list[ImageLabel]:
        """Accept every pending label at or above ``threshold`` (the session's by default)."""
        t = self.threshold if threshold is None else threshold
        changed = il.accept_above(self.labels_on(sample_id), t)
        if not changed:
            raise ValueError(f"no pending label at or above {t:.2f} on this image")
        return self._apply(sample_id, changed)

    def accept_rest(self, sample_id: str) -> list[ImageLabel]:
        rest = [il.accept(lab) for lab in self.labels_on(sample_id) if lab.status == "pending"]
        return self._apply(sample_id, rest) if rest else []

    def add(self, sample_id: str, label: str) -> ImageLabel:
        """A label the model missed; adding one the image holds already is refused."""
        label = str(label).strip()
        if any(lab.label == label and lab.kept for lab in self.labels_on(sample_id)):
            raise ValueError(f"the image already has label {label!r}")
        (made,) = self._apply(sample_id, [il.new_label(label)])
        return made

    def relabel(self, sample_id: str, label_id: str, label: str) -> list[ImageLabel]:
        lab = self._get(sample_id, label_id)
        status = "added" if lab.status == "added" else "edited"
        return self._apply(sample_id, [replace(lab, label=str(label), status=status)])

    def set_attributes(self, sample_id: str, label_id: str,
                       values: Mapping[str, Any]) -> list[ImageLabel]:
        lab = self._get(sample_id, label_id)
        checked = self.attributes.check(lab.label, values)
        return self._apply(sample_id, [il.set_attributes(lab, checked)])

    def undo(self) -> str | None:
        """Put back what the last action changed; returns its image (None: nothing)."""
        return undo_items(self.history, self._commit)

    def redo(self) -> str | None:
        return redo_items(self.history, self._commit)

    def complete(self, sample_id: str) -> None:
        """Every label decided: the image is reviewed (the one completion rule)."""
        if self.pending(sample_id):
            raise ValueError(f"{len(self.pending(sample_id))} label(s) of sample {sample_id} "
                             "are still pending: accept or reject them first")
        complete_item(self.dataset, self.journal,
                      labels_journal_key(self.dataset.name, self.field), sample_id,
                      self.reviewer, time.monotonic() - self._started.get(sample_id, 0.0))
        self.reviewed.add(sample_id)
