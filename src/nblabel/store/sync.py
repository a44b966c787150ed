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

import gc
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nblabel.core.images import decode_mask
from nblabel.core.labels import IMAGE_LABEL_KEY, Action, Decision
from nblabel.store.journal import DecisionJournal

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["REVIEWED_TAG", "REVIEWERS_FIELD", "FiftyOneSync", "SyncReport", "label_id_for_key"]

REVIEWED_TAG = "reviewed"
REVIEWERS_FIELD = "nblabel_reviewers"
_OWNER_ATTR = "nblabel_key"
_JOURNAL_ATTR = "nblabel_journal"
_BULK = 1000


def label_id_for_key(dataset_name: str, sample_id: str, key: str, journal_id: str = "") -> str:
    """Deterministic ObjectId (24 hex digits) for the ground-truth label of a decision key."""
    text = f"{dataset_name}\x00{sample_id}\x00{key}\x00{journal_id}"
    return hashlib.sha1(text.encode()).hexdigest()[:24]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a sync allocates many short-lived, acyclic
    containers, and in a process holding FiftyOne's and torch's objects the collections they
    trigger took more than half of the sync's time (measured with ``bench/sync.py``)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _review_attrs(d: Decision) -> dict[str, Any]:
    return {"review": d.action.value, "reviewer": d.reviewer,
            "reviewed_at": d.decided_at.replace(tzinfo=None)}


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
        """Write the journal's final state for these samples: one atomic update per sample."""
        with _gc_paused():
            return self._sync_samples(sample_ids)

    def _sync_samples(self, sample_ids: Iterable[str]) -> SyncReport:
        import fiftyone as fo
        from bson import ObjectId
        from pymongo import UpdateOne

        ds = self.dataset
        name = ds.name
        report = SyncReport()
        ids = list(dict.fromkeys(sample_ids))
        if not ids:
            return report
        self._ensure_schema()
        pf, gf, cf = self.predictions_field, self.gt_field, self.classification_field
        projection = {f"{pf}.detections._id": 1}
        if cf:
            projection[f"{cf}._id"] = 1
        coll = ds._sample_collection
        present: dict[str, dict[str, Any]] = {
            str(doc["_id"]): doc
            for doc in coll.find({"_id": {"$in": [ObjectId(s) for s in ids]}}, projection)
        }
        report.missing_samples = [s for s in ids if s not in present]
        ids = [s for s in ids if s in present]
        latest = self.journal.latest_decisions(name, ids)
        completions = self.journal.completions(name, ids)
        jid = self.journal.journal_id

        ops: list[UpdateOne] = []
        reviewed = 0
        for sid in ids:
            doc = present[sid]
            preds = (doc.get(pf) or {}).get("detections") or []
            proposal_ids = {str(det["_id"]) for det in preds}
            touched = latest.get(sid, {})
            final = {k: d for k, d in touched.items() if d.action is not Action.CLEARED}
            image_decision = final.get(IMAGE_LABEL_KEY)
            box_keys = {k for k, d in touched.items() if d.kind == "box"}
            # Proposal attributes: set where decided, cleared where this journal withdrew its
            # decision (only if the value there is still the one this journal wrote).
            branches: list[dict[str, Any]] = []
            decided_proposals: set[str] = set()
            for d in touched.values():
                if d.kind != "box" or d.proposal is None:
                    continue
                pid = d.proposal.id
                if pid not in proposal_ids:
                    report.missing_proposals += d.action is not Action.CLEARED
                    continue
                match: dict[str, Any] = {"$eq": ["$$d._id", ObjectId(pid)]}
                if d.action is Action.CLEARED:
                    values: dict[str, Any] = {"review": None, "reviewer": None,
                                              "reviewed_at": None}
                    match = {"$and": [match, {"$eq": ["$$d.reviewer", d.reviewer]}]}
                else:
                    values = _review_attrs(d)
                    decided_proposals.add(pid)
                    report.proposal_updates += 1
                branches.append({"case": match, "then": {"$mergeObjects": [
                    "$$d", {"$literal": values}]}})
            stage: dict[str, Any] = {"last_modified_at": "$$NOW"}
            if branches:
                stage[f"{pf}.detections"] = {"$map": {
                    "input": f"${pf}.detections", "as": "d",
                    "in": {"$switch": {"branches": branches, "default": "$$d"}},
                }}
            ours = [self._stored_gt(name, d) for d in final.values()
                    if d.kind == "box" and d.keeps_label]
            report.ground_truth_labels += len(ours)
            if box_keys:
                ours_ids = [det["_id"] for det in ours]
                theirs = {"$filter": {
                    "input": {"$ifNull": [f"${gf}.detections", []]}, "as": "g",
                    "cond": {"$not": [{"$or": [
                        {"$eq": ["$$g.nblabel_journal", jid]},
                        {"$in": ["$$g._id", ours_ids]},
                        # written before labels carried their journal
                        {"$and": [{"$eq": [{"$ifNull": ["$$g.nblabel_journal", None]}, None]},
                                  {"$in": ["$$g.nblabel_key", sorted(box_keys)]}]},
                    ]}]},
                }}
                gt = {"$mergeObjects": [
                    {"$ifNull": [f"${gf}", {"_cls": "Detections"}]},
                    {"detections": {"$concatArrays": [theirs, {"$literal": ours}]}},
                ]}
                stage[gf] = gt if ours else {
                    "$cond": [{"$eq": [{"$ifNull": [f"${gf}", None]}, None]}, None, gt]}
            has_class = bool(cf) and (doc.get(cf or "") or {}).get("_id") is not None
            if cf and IMAGE_LABEL_KEY in touched:
                stage[self.gt_classification_field] = {
                    "$literal": self._stored_classification(image_decision)}
                if has_class:
                    values = (_review_attrs(image_decision) if image_decision is not None
                              else {"review": None, "reviewer": None, "reviewed_at": None})
                    for attr, value in values.items():
                        stage[f"{cf}.{attr}"] = {"$literal": value}
            boxes_done = proposal_ids <= decided_proposals
            image_done = image_decision is not None
            done = sid in completions or (
                boxes_done and (image_done or not has_class) and bool(proposal_ids or image_done)
            )
            reviewed += done
            tags = {"$ifNull": ["$tags", []]}
            stage["tags"] = (
                {"$cond": [{"$in": [REVIEWED_TAG, tags]}, tags,
                           {"$concatArrays": [tags, [REVIEWED_TAG]]}]}
                if done else
                {"$filter": {"input": tags, "as": "t", "cond": {"$ne": ["$$t", REVIEWED_TAG]}}}
            )
            reviewers = sorted({d.reviewer for d in final.values()}
                               | ({completions[sid].reviewer} if sid in completions else set()))
            if reviewers:
                stage[REVIEWERS_FIELD] = {"$setUnion": [
                    {"$ifNull": [f"${REVIEWERS_FIELD}", []]}, {"$literal": reviewers}]}
            ops.append(UpdateOne({"_id": doc["_id"]}, [{"$set": stage}]))
        for i in range(0, len(ops), _BULK):
            coll.bulk_write(ops[i:i + _BULK], ordered=False)
        # Keep any Sample objects alive in this process in step with what was written.
        fo.Sample._reload_docs(ds._sample_collection_name, sample_ids=ids)
        report.samples = len(ids)
        report.reviewed_samples = reviewed
        return report

    def _stored_gt(self, dataset_name: str, d: Decision) -> dict[str, Any]:
        """The stored document of the ground-truth detection for a kept decision."""
        from bson import ObjectId

        assert d.box is not None and d.label is not None
        doc: dict[str, Any] = {"_cls": "Detection", "tags": []}
        if d.proposal is not None and d.proposal.mask is not None:
            import fiftyone as fo

            doc = dict(fo.Detection(mask=decode_mask(d.proposal.mask)).to_mongo())
        doc.update({
            "_id": ObjectId(label_id_for_key(dataset_name, d.sample_id, d.key,
                                             self.journal.journal_id)),
            "label": d.label,
            "bounding_box": d.box.to_relative(d.image_size),
            **_review_attrs(d),
            "proposal_id": d.proposal.id if d.proposal is not None else None,
            "proposal_confidence": d.proposal.confidence if d.proposal is not None else None,
            "seconds_on_image": d.seconds_on_image,
            _OWNER_ATTR: d.key,
            _JOURNAL_ATTR: self.journal.journal_id,
        })
        return doc

    def _stored_classification(self, d: Decision | None) -> dict[str, Any] | None:
        from bson import ObjectId

        if d is None or not d.keeps_label:
            return None
        return {
            "_id": ObjectId(), "_cls": "Classification", "tags": [], "label": d.label,
            **_review_attrs(d),
            "proposal_confidence": d.proposal.confidence if d.proposal is not None else None,
            "seconds_on_image": d.seconds_on_image,
        }

    def _ensure_schema(self) -> None:
        import fiftyone as fo

        ds = self.dataset
        if not ds.has_sample_field(self.gt_field):
            ds.add_sample_field(self.gt_field, fo.EmbeddedDocumentField,
                                embedded_doc_type=fo.Detections)
        if not ds.has_sample_field(REVIEWERS_FIELD):
            ds.add_sample_field(REVIEWERS_FIELD, fo.ListField, subfield=fo.StringField)
        if self.classification_field and not ds.has_sample_field(self.gt_classification_field):
            ds.add_sample_field(self.gt_classification_field, fo.EmbeddedDocumentField,
                                embedded_doc_type=fo.Classification)
        schema = ds.get_field_schema(flat=True)
        review = {"review": fo.StringField, "reviewer": fo.StringField,
                  "reviewed_at": fo.DateTimeField}
        wanted: dict[str, Any] = {}
        for base in (f"{self.predictions_field}.detections", self.classification_field):
            if base and base in schema:
                wanted.update({f"{base}.{k}": v for k, v in review.items()})
        if self.classification_field:
            gcf = self.gt_classification_field
            wanted.update({f"{gcf}.{k}": v for k, v in review.items()})
            wanted.update({f"{gcf}.proposal_confidence": fo.FloatField,
                           f"{gcf}.seconds_on_image": fo.FloatField})
        gt = f"{self.gt_field}.detections"
        wanted.update({
            f"{gt}.review": fo.StringField,
            f"{gt}.reviewer": fo.StringField,
            f"{gt}.reviewed_at": fo.DateTimeField,
            f"{gt}.proposal_id": fo.StringField,
            f"{gt}.proposal_confidence": fo.FloatField,
            f"{gt}.seconds_on_image": fo.FloatField,
            f"{gt}.{_OWNER_ATTR}": fo.StringField,
            f"{gt}.{_JOURNAL_ATTR}": fo.StringField,
        })
        missing = {path: ftype() for path, ftype in wanted.items() if path not in schema}
        if missing:  # one schema merge (each add_sample_field call reloads the dataset)
            ds._merge_sample_field_schema(missing)
