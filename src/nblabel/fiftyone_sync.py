"""Replaying the decision journal into a FiftyOne dataset with bulk, id-keyed writes.

What a sync writes, for each sample with decisions:

- on each decided proposal in the predictions field: ``review`` (``accepted`` / ``edited`` /
  ``rejected``), ``reviewer`` and ``reviewed_at`` (written with ``set_label_values``, keyed by
  sample and label id);
- in the ground-truth field (``ground_truth`` by default): one detection per accepted, edited or
  added box, with attributes ``review``, ``reviewer``, ``reviewed_at``, ``proposal_id``,
  ``proposal_confidence`` and ``seconds_on_image``. Their ids are derived from the decision key,
  so replaying yields the same documents. Detections in that field that nblabel did not write
  (e.g. truth imported before the review) are kept;
- with a ``classification_field`` (image-level proposals, ``fo.Classification``): the accepted or
  replaced class in ``gt_classification_field`` (``ground_truth_class``; nblabel owns that field
  for the samples it syncs) and ``review``/``reviewer``/``reviewed_at`` on the proposal;
- the sample tag ``reviewed`` on samples whose review is complete: every proposal (and the image
  label, if there is one) decided, or the reviewer moved past an image with nothing to decide.

Sync is idempotent: values are computed from the journal's final state, never appended, so
running it twice (or after a crash halfway through) leaves the same dataset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nblabel.images import decode_mask
from nblabel.journal import DecisionJournal
from nblabel.types import IMAGE_LABEL_KEY, Decision

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["REVIEWED_TAG", "FiftyOneSync", "SyncReport", "label_id_for_key"]

REVIEWED_TAG = "reviewed"
_OWNER_ATTR = "nblabel_key"


def label_id_for_key(dataset_name: str, sample_id: str, key: str) -> str:
    """Deterministic ObjectId (24 hex digits) for the ground-truth label of a decision key."""
    digest = hashlib.sha1(f"{dataset_name}\x00{sample_id}\x00{key}".encode()).hexdigest()
    return digest[:24]


@dataclass
class SyncReport:
    """What one :meth:`FiftyOneSync.sync` call wrote."""

    samples: int = 0
    proposal_updates: int = 0
    ground_truth_labels: int = 0
    reviewed_samples: int = 0
    missing_samples: list[str] = field(default_factory=list)
    missing_proposals: int = 0


class FiftyOneSync:
    """Writes a journal's decisions for one dataset into that FiftyOne dataset."""

    def __init__(
        self,
        dataset: fo.Dataset,
        journal: DecisionJournal,
        predictions_field: str = "predictions",
        gt_field: str = "ground_truth",
        classification_field: str | None = None,
        gt_classification_field: str = "ground_truth_class",
    ) -> None:
        self.dataset = dataset
        self.journal = journal
        self.predictions_field = predictions_field
        self.gt_field = gt_field
        self.classification_field = classification_field
        self.gt_classification_field = gt_classification_field
        self.target = f"fiftyone:{predictions_field}->{gt_field}"

    def sync(self, full: bool = False) -> SyncReport:
        """Write every decision not yet synced (``full=True``: replay the whole journal)."""
        name = self.dataset.name
        upto = self.journal.last_seq(name)
        since = (0, 0) if full else self.journal.synced_seq(name, self.target)
        if full:
            sample_ids = sorted(
                set(self.journal.final_decisions(name)) | set(self.journal.completions(name))
            )
        else:
            sample_ids = self.journal.samples_changed_since(name, since)
        report = self.sync_samples(sample_ids)
        self.journal.mark_synced(name, self.target, upto)
        return report

    def sync_samples(self, sample_ids: Iterable[str]) -> SyncReport:
        """Write the journal's final state for these samples."""
        import fiftyone as fo

        ds = self.dataset
        name = ds.name
        report = SyncReport()
        ids = list(dict.fromkeys(sample_ids))
        if not ids:
            return report
        self._ensure_schema()
        view = ds.select(ids)
        cf = self.classification_field
        fields = ["id", f"{self.predictions_field}.detections.id", self.gt_field]
        present_ids, proposals_per_sample, gt_per_sample, *rest = view.values(
            fields + ([f"{cf}.id"] if cf else [])
        )
        class_ids = rest[0] if rest else [None] * len(present_ids)
        present = dict(zip(present_ids, range(len(present_ids)), strict=True))
        report.missing_samples = [s for s in ids if s not in present]
        ids = [s for s in ids if s in present]
        state = self.journal.final_decisions(name, ids)
        completions = self.journal.completions(name, ids)

        label_updates: dict[str, list[dict[str, Any]]] = {"review": [], "reviewer": [],
                                                           "reviewed_at": []}
        gt_values: dict[str, Any] = {}
        reviewed: list[str] = []
        unreviewed: list[str] = []
        image_values: dict[str, Any] = {}
        class_updates: dict[str, dict[str, Any]] = {"review": {}, "reviewer": {},
                                                    "reviewed_at": {}}
        for sid in ids:
            i = present[sid]
            proposal_ids = set(proposals_per_sample[i] or [])
            all_decisions = state.get(sid, {})
            image_decision = all_decisions.get(IMAGE_LABEL_KEY)
            decisions = {k: d for k, d in all_decisions.items() if d.kind == "box"}
            by_proposal = {d.proposal.id: d for d in decisions.values() if d.proposal is not None}
            report.missing_proposals += len(set(by_proposal) - proposal_ids)
            # Every proposal of the sample is written: an undone decision clears its attributes.
            for pid in proposal_ids:
                d = by_proposal.get(pid)
                attrs: tuple[Any, ...] = (
                    (d.action.value, d.reviewer, d.decided_at.replace(tzinfo=None))
                    if d is not None else (None, None, None)
                )
                for attr, value in zip(("review", "reviewer", "reviewed_at"), attrs,
                                       strict=True):
                    label_updates[attr].append({"sample_id": sid, "label_id": pid,
                                                "value": value})
                report.proposal_updates += d is not None
            existing = gt_per_sample[i]
            kept = [
                det for det in (existing.detections if existing is not None else [])
                if not (det.has_field(_OWNER_ATTR) and det[_OWNER_ATTR] is not None)
            ]
            ours = [self._gt_detection(name, d) for d in decisions.values() if d.keeps_label]
            report.ground_truth_labels += len(ours)
            if ours or existing is not None:
                gt_values[sid] = fo.Detections(detections=kept + ours)
            if cf:
                has_class = class_ids[i] is not None
                image_values[sid] = self._gt_classification(image_decision)
                if has_class:
                    attrs = ((image_decision.action.value, image_decision.reviewer,
                              image_decision.decided_at.replace(tzinfo=None))
                             if image_decision is not None else (None, None, None))
                    for attr, value in zip(("review", "reviewer", "reviewed_at"), attrs,
                                           strict=True):
                        class_updates[attr][sid] = value
            boxes_done = proposal_ids <= set(by_proposal)
            image_done = image_decision is not None
            needs_image = bool(cf) and class_ids[i] is not None
            if sid in completions or (
                boxes_done and (image_done or not needs_image) and (proposal_ids or image_done)
            ):
                reviewed.append(sid)
            else:
                unreviewed.append(sid)
        for attr, values in label_updates.items():
            if values:
                view.set_label_values(
                    f"{self.predictions_field}.detections.{attr}", values, validate=False
                )
        if gt_values:
            view.set_values(self.gt_field, gt_values, key_field="id", validate=False)
        if cf and image_values:
            view.set_values(self.gt_classification_field, image_values, key_field="id",
                            validate=False)
            for attr, values_by_id in class_updates.items():
                if values_by_id:
                    view.set_values(f"{cf}.{attr}", values_by_id, key_field="id",
                                    validate=False)
        if reviewed:
            ds.select(reviewed).tag_samples(REVIEWED_TAG)
        if unreviewed:  # e.g. a decision was undone
            ds.select(unreviewed).untag_samples(REVIEWED_TAG)
        report.samples = len(ids)
        report.reviewed_samples = len(reviewed)
        return report

    def _gt_detection(self, dataset_name: str, d: Decision) -> fo.Detection:
        import fiftyone as fo
        from bson import ObjectId

        assert d.box is not None and d.label is not None
        det = fo.Detection(
            label=d.label,
            bounding_box=d.box.to_relative(d.image_size),
            review=d.action.value,
            reviewer=d.reviewer,
            reviewed_at=d.decided_at.replace(tzinfo=None),
            proposal_id=d.proposal.id if d.proposal is not None else None,
            proposal_confidence=d.proposal.confidence if d.proposal is not None else None,
            seconds_on_image=d.seconds_on_image,
        )
        if d.proposal is not None and d.proposal.mask is not None:
            det.mask = decode_mask(d.proposal.mask)
        det.set_field(_OWNER_ATTR, d.key)
        det._id = ObjectId(label_id_for_key(dataset_name, d.sample_id, d.key))
        return det

    def _gt_classification(self, d: Decision | None) -> fo.Classification | None:
        import fiftyone as fo

        if d is None or not d.keeps_label:
            return None
        return fo.Classification(
            label=d.label,
            review=d.action.value,
            reviewer=d.reviewer,
            reviewed_at=d.decided_at.replace(tzinfo=None),
            proposal_confidence=d.proposal.confidence if d.proposal is not None else None,
            seconds_on_image=d.seconds_on_image,
        )

    def _ensure_schema(self) -> None:
        import fiftyone as fo

        ds = self.dataset
        if not ds.has_sample_field(self.gt_field):
            ds.add_sample_field(self.gt_field, fo.EmbeddedDocumentField,
                                embedded_doc_type=fo.Detections)
        if self.classification_field and not ds.has_sample_field(self.gt_classification_field):
            ds.add_sample_field(self.gt_classification_field, fo.EmbeddedDocumentField,
                                embedded_doc_type=fo.Classification)
        schema = ds.get_field_schema(flat=True)
        base = f"{self.predictions_field}.detections"
        if base not in schema:
            return
        wanted: dict[str, Any] = {
            f"{base}.review": fo.StringField,
            f"{base}.reviewer": fo.StringField,
            f"{base}.reviewed_at": fo.DateTimeField,
        }
        gt = f"{self.gt_field}.detections"
        wanted.update({
            f"{gt}.review": fo.StringField,
            f"{gt}.reviewer": fo.StringField,
            f"{gt}.reviewed_at": fo.DateTimeField,
            f"{gt}.proposal_id": fo.StringField,
            f"{gt}.proposal_confidence": fo.FloatField,
            f"{gt}.seconds_on_image": fo.FloatField,
            f"{gt}.{_OWNER_ATTR}": fo.StringField,
        })
        for path, ftype in wanted.items():
            if path not in schema:
                ds.add_sample_field(path, ftype)
