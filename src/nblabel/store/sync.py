"""Replaying the decision journal into a FiftyOne dataset: one atomic update per sample, merged
with what other reviewers' journals wrote, so team state converges.

What a sync writes, for each sample with decisions (names in :mod:`nblabel.store.schema`):

- on each decided proposal: ``nblabel_votes``, every journal's latest decision on it
  (``journal``, ``review``, ``reviewer``, ``at``, ``label``, ``box``, ``seconds``); ``review``,
  ``reviewer`` and ``reviewed_at`` are the latest of those by decision time
  (:func:`nblabel.core.rules.latest_vote`). A journal replaces only its own vote, so whatever
  order journals sync or replay in, a proposal shows its latest decision across reviewers;
- in the ground-truth field: one detection per proposal whose standing decision keeps it
  (accepted, edited), built from that vote, and one per box drawn by hand (owned by the journal
  that drew it). In consensus mode (``per_journal_truth=True``) each journal keeps its own labels
  instead, for :func:`nblabel.curation.consensus.merge_consensus`. Detections nblabel did not write
  (truth imported before the review) are kept;
- image-level decisions (``classification_field``): votes on the proposed class, and the standing
  class in ``gt_classification_field``;
- ``nblabel_reviewers`` and ``nblabel_completed`` (who moved past the image), and the ``reviewed``
  tag, recomputed from the merged state with :func:`nblabel.core.rules.is_complete`, so nobody's
  sync removes what another's set.

Each update is a compare-and-set: the sample is read, the new state computed, and written only if
the sample did not change in between (``nblabel_rev`` and ``last_modified_at``); otherwise it is
read again. Values come from the journal's final state, so syncing twice changes nothing.
"""

from __future__ import annotations

import gc
import hashlib
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from nblabel.core.attributes import Attributes
from nblabel.core.images import decode_mask
from nblabel.core.labels import IMAGE_LABEL_KEY, Action, Decision
from nblabel.core.rules import is_complete, latest_vote
from nblabel.store import schema, shim
from nblabel.store.journal import CompletionMark, DecisionJournal
from nblabel.store.schema import (
    COMPLETED_FIELD,
    JOURNAL_ATTR,
    OWNER_ATTR,
    REVIEWED_TAG,
    REVIEWERS_FIELD,
    REVISION_FIELD,
    VOTES_ATTR,
)

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["REVIEWED_TAG", "REVIEWERS_FIELD", "FiftyOneSync", "SyncReport", "label_id_for_key"]

_BULK = 1000
_MAX_ATTEMPTS = 50


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


def _utc(d: datetime) -> datetime:
    """Naive UTC at MongoDB's millisecond precision (what a read gives back)."""
    d = d.astimezone(timezone.utc).replace(tzinfo=None)
    return d.replace(microsecond=d.microsecond // 1000 * 1000)


def _review_attrs(v: Mapping[str, Any] | None) -> dict[str, Any]:
    if v is None:
        return {"review": None, "reviewer": None, "reviewed_at": None}
    return {"review": v["review"], "reviewer": v["reviewer"], "reviewed_at": v["at"]}


@dataclass
class SyncReport:
    """What one :meth:`FiftyOneSync.sync` call wrote."""

    samples: int = 0
    proposal_updates: int = 0
    ground_truth_labels: int = 0
    reviewed_samples: int = 0
    missing_samples: list[str] = field(default_factory=list)
    missing_proposals: int = 0
    retries: int = 0


class FiftyOneSync:
    """Writes a journal's decisions for one dataset into that FiftyOne dataset."""

    def __init__(
        self,
        dataset: fo.Dataset,
        journal: DecisionJournal,
        field: str = "predictions",
        gt_field: str = "ground_truth",
        classification_field: str | None = None,
        gt_classification_field: str = "ground_truth_class",
        *,
        per_journal_truth: bool = False,
        attributes: Attributes | None = None,
    ) -> None:
        self.dataset = dataset
        #: The labels' declared attributes (declared in the schema with the rest).
        self.attributes = attributes
        self.journal = journal
        self.field = field
        self.gt_field = gt_field
        self.classification_field = classification_field
        self.gt_classification_field = gt_classification_field
        self.per_journal_truth = per_journal_truth
        self.target = f"fiftyone:{field}->{gt_field}"
        #: Called after each database round trip (the session's worker tells a slow sync
        #: that makes progress from a database that does not answer).
        self.heartbeat: Callable[[], None] = lambda: None

    def declare(self) -> None:
        """Declare every field this sync writes (idempotent; see :mod:`nblabel.store.schema`)."""
        schema.declare_review(self.dataset, self.field, self.gt_field,
                              self.classification_field, self.gt_classification_field)
        if self.attributes:
            schema.declare_attributes(self.dataset, f"{self.gt_field}.detections", {
                name: s.kind for name, s in self.attributes.all_specs().items()})

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

    def _projection(self) -> dict[str, int]:
        pf, cf = self.field, self.classification_field
        proj = {f"{pf}.detections._id": 1, f"{pf}.detections.{VOTES_ATTR}": 1,
                f"{pf}.detections.review": 1, f"{pf}.detections.confidence": 1,
                f"{pf}.detections.mask": 1, f"{pf}.detections.label": 1,
                f"{pf}.detections.bounding_box": 1, self.gt_field: 1, "tags": 1, REVIEWERS_FIELD: 1,
                COMPLETED_FIELD: 1, REVISION_FIELD: 1, "last_modified_at": 1}
        if cf:
            proj.update({f"{cf}._id": 1, f"{cf}.{VOTES_ATTR}": 1, f"{cf}.confidence": 1,
                         f"{cf}.label": 1, self.gt_classification_field: 1})
        return proj

    def _sync_samples(self, sample_ids: Iterable[str]) -> SyncReport:
        from bson import ObjectId
        from pymongo import UpdateOne

        report = SyncReport()
        ids = list(dict.fromkeys(sample_ids))
        if not ids:
            return report
        self.declare()
        name = self.dataset.name
        coll = shim.sample_collection(self.dataset)
        latest = self.journal.latest_decisions(name, ids)
        completions = self.journal.completions(name, ids)
        pending = ids
        written: list[str] = []
        for attempt in range(_MAX_ATTEMPTS):
            docs = {str(d["_id"]): d for d in coll.find(
                {"_id": {"$in": [ObjectId(s) for s in pending]}}, self._projection())}
            self.heartbeat()
            if attempt == 0:
                report.missing_samples = [s for s in pending if s not in docs]
            tokens: dict[str, str] = {}
            ops: list[UpdateOne] = []
            counts: dict[str, SyncReport] = {}  # per sample: only written ones count
            for sid in pending:
                doc = docs.get(sid)
                if doc is None:
                    continue
                counts[sid] = SyncReport()
                update = self._update(doc, latest.get(sid, {}), completions.get(sid),
                                      counts[sid])
                tokens[sid] = uuid.uuid4().hex
                update[REVISION_FIELD] = tokens[sid]
                update["last_modified_at"] = _utc(datetime.now(timezone.utc))
                ops.append(UpdateOne(
                    {"_id": doc["_id"], REVISION_FIELD: doc.get(REVISION_FIELD),
                     "last_modified_at": doc.get("last_modified_at")},
                    {"$set": update}))
            matched = 0
            for i in range(0, len(ops), _BULK):
                matched += coll.bulk_write(ops[i:i + _BULK], ordered=False).matched_count
                self.heartbeat()
            lost: list[str] = []
            if matched < len(ops):
                # Some writes lost a race (the sample changed after we read it): which ones.
                now = {str(d["_id"]): d.get(REVISION_FIELD) for d in coll.find(
                    {"_id": {"$in": [ObjectId(s) for s in tokens]}}, {REVISION_FIELD: 1})}
                lost = [s for s, t in tokens.items() if now.get(s) != t]
            for sid in tokens:
                if sid in lost:
                    continue
                written.append(sid)
                c = counts[sid]
                report.proposal_updates += c.proposal_updates
                report.ground_truth_labels += c.ground_truth_labels
                report.reviewed_samples += c.reviewed_samples
                report.missing_proposals += c.missing_proposals
            if not lost:
                break
            report.retries += len(lost)
            pending = lost
            time.sleep(random.uniform(0.0, 0.02 * (attempt + 1)))
        else:
            raise RuntimeError(f"{len(pending)} sample(s) of {name!r} kept changing while "
                               f"syncing (e.g. {pending[0]}); the journal keeps the decisions")
        shim.reload_sample_docs(self.dataset, written)
        report.samples = len(written)
        return report

    # -- the state of one sample -----------------------------------------------------------

    def _vote(self, d: Decision) -> dict[str, Any]:
        """A journal's decision as stored on the label; the final label and box only when they
        differ from the proposal's (an image can hold 20,000 votes in MongoDB's 16 MB)."""
        vote: dict[str, Any] = {"journal": self.journal.journal_id, "review": d.action.value,
                                "reviewer": d.reviewer, "at": _utc(d.decided_at),
                                "seconds": round(d.seconds_on_image, 3)}
        if d.action is Action.EDITED or d.proposal is None:
            vote["label"] = d.label
            vote["box"] = d.box.to_relative(d.image_size) if d.box is not None else None
        if d.mask is not None and d.proposal is not None:  # a proposal's mask, edited
            vote["mask"] = _stored_mask(d.mask)
        if d.attributes:
            vote["attrs"] = dict(d.attributes)
        return vote

    def _merge_votes(self, stored: list[dict[str, Any]] | None, d: Decision
                     ) -> list[dict[str, Any]]:
        jid = self.journal.journal_id
        votes = [v for v in stored or [] if v.get("journal") != jid]
        if d.action is not Action.CLEARED:
            votes.append(self._vote(d))
        return votes

    def _update(self, doc: dict[str, Any], touched: dict[str, Decision],
                completion: CompletionMark | None, report: SyncReport) -> dict[str, Any]:
        """The ``$set`` document bringing ``doc`` to the merged state (see the module doc)."""
        pf, gf, cf = self.field, self.gt_field, self.classification_field
        jid = self.journal.journal_id
        name = self.dataset.name
        sid = str(doc["_id"])
        update: dict[str, Any] = {}
        preds: list[dict[str, Any]] = (doc.get(pf) or {}).get("detections") or []
        index = {str(det["_id"]): i for i, det in enumerate(preds)}
        for d in touched.values():
            if d.kind != "box" or d.proposal is None:
                continue
            i = index.get(d.proposal.id)
            if i is None:
                report.missing_proposals += d.action is not Action.CLEARED
                continue
            votes = self._merge_votes(preds[i].get(VOTES_ATTR), d)
            preds[i] = {**preds[i], VOTES_ATTR: votes}
            update[f"{pf}.detections.{i}.{VOTES_ATTR}"] = votes
            for attr, value in _review_attrs(latest_vote(votes)).items():
                update[f"{pf}.detections.{i}.{attr}"] = value
                preds[i][attr] = value
            report.proposal_updates += d.action is not Action.CLEARED
        standing = {str(det["_id"]): latest_vote(det.get(VOTES_ATTR) or []) for det in preds}
        decided = {pid for pid, v in standing.items() if v is not None}
        # Decided before votes existed (an older nblabel): the review attribute stands.
        decided |= {str(det["_id"]) for det in preds
                    if not det.get(VOTES_ATTR) and det.get("review")}

        # Ground truth.
        final = {k: d for k, d in touched.items() if d.action is not Action.CLEARED}
        box_keys = {k for k, d in touched.items() if d.kind == "box"}
        gt_doc = doc.get(gf) or None
        stored_gt: list[dict[str, Any]] = (gt_doc or {}).get("detections") or []
        if self.per_journal_truth:
            ours = [self._gt_from_decision(name, d) for d in final.values()
                    if d.kind == "box" and d.keeps_label]
            ours_ids = {g["_id"] for g in ours}
            kept = [g for g in stored_gt if not (
                g.get(JOURNAL_ATTR) == jid or g["_id"] in ours_ids
                or (g.get(JOURNAL_ATTR) is None and g.get(OWNER_ATTR) in box_keys))]
        else:
            ours = [self._gt_from_decision(name, d) for d in final.values()
                    if d.kind == "box" and d.keeps_label and d.proposal is None]
            for det in preds:
                v = standing[str(det["_id"])]
                if v is not None and v["review"] in ("accepted", "edited"):
                    ours.append(self._gt_from_vote(name, sid, str(det["_id"]), v, det))
            ours_ids = {g["_id"] for g in ours}
            kept = [g for g in stored_gt if not (
                g["_id"] in ours_ids
                or (g.get(OWNER_ATTR) is not None and g.get("proposal_id") in index)
                or (g.get(JOURNAL_ATTR) == jid and g.get(OWNER_ATTR) in box_keys)
                or (g.get(JOURNAL_ATTR) is None and g.get(OWNER_ATTR) in box_keys))]
        report.ground_truth_labels += len(ours)
        if box_keys or not self.per_journal_truth:
            new_gt = kept + ours
            if new_gt or gt_doc is not None:
                update[gf] = {**(gt_doc or shim.raw_detections([])), "detections": new_gt}

        # Image-level class.
        has_class = bool(cf) and (doc.get(cf or "") or {}).get("_id") is not None
        image_decided = False
        if cf:
            image_decided = self._update_class(doc, touched.get(IMAGE_LABEL_KEY), has_class,
                                               update)

        # Who, and whether the review is complete.
        reviewers = set(doc.get(REVIEWERS_FIELD) or [])
        reviewers |= {d.reviewer for d in final.values()}
        completed = set(doc.get(COMPLETED_FIELD) or [])
        if completion is not None:
            reviewers.add(completion.reviewer)
            completed.add(completion.reviewer)
        update[REVIEWERS_FIELD] = sorted(reviewers)
        update[COMPLETED_FIELD] = sorted(completed)
        done = is_complete(index, decided, has_image_label=has_class,
                           image_decided=image_decided, completed=bool(completed))
        tags = [t for t in doc.get("tags") or [] if t != REVIEWED_TAG]
        update["tags"] = [*tags, REVIEWED_TAG] if done else tags
        report.reviewed_samples += done
        return update

    def _update_class(self, doc: dict[str, Any], d: Decision | None, has_class: bool,
                      update: dict[str, Any]) -> bool:
        """Votes on the proposed class and the standing class; returns whether it is decided.
        With no proposed class, the latest journal to sync sets the class."""
        cf = self.classification_field
        gcf = self.gt_classification_field
        assert cf is not None
        if has_class:
            label = doc[cf]
            votes = label.get(VOTES_ATTR) or []
            if d is not None:
                votes = self._merge_votes(votes, d)
                update[f"{cf}.{VOTES_ATTR}"] = votes
            v = latest_vote(votes)
            for attr, value in _review_attrs(v).items():
                update[f"{cf}.{attr}"] = value
            update[gcf] = self._class_doc(v, label)
            return v is not None
        if d is not None:
            v = self._vote(d) if d.action is not Action.CLEARED else None
            update[gcf] = self._class_doc(v, {})
            return v is not None
        return doc.get(gcf) is not None

    @staticmethod
    def _class_doc(v: Mapping[str, Any] | None, proposal: Mapping[str, Any]
                   ) -> dict[str, Any] | None:
        """The standing image class: the vote's class, or the proposed one it accepted."""
        if v is None or v["review"] not in ("accepted", "edited", "added"):
            return None
        return shim.raw_label("Classification", {
            "label": v.get("label") or proposal.get("label"), **_review_attrs(v),
            "proposal_confidence": proposal.get("confidence"),
            "seconds_on_image": v.get("seconds")})

    def _gt_from_vote(self, name: str, sid: str, pid: str, v: Mapping[str, Any],
                      proposal: Mapping[str, Any]) -> dict[str, Any]:
        doc = shim.raw_label("Detection", {
            "label": v.get("label") or proposal.get("label"),
            "bounding_box": v.get("box") or proposal.get("bounding_box"),
            **_review_attrs(v),
            "proposal_id": pid, "proposal_confidence": proposal.get("confidence"),
            "seconds_on_image": v.get("seconds"), OWNER_ATTR: pid, JOURNAL_ATTR: v["journal"],
            **(v.get("attrs") or {}),
        }, label_id_for_key(name, sid, pid, str(v["journal"])))
        mask = v.get("mask") if v.get("mask") is not None else proposal.get("mask")
        if mask is not None:
            doc["mask"] = mask
        return doc

    def _gt_from_decision(self, dataset_name: str, d: Decision) -> dict[str, Any]:
        """The stored document of the ground-truth detection for a kept decision."""
        assert d.box is not None and d.label is not None
        vote = self._vote(d)
        doc = shim.raw_label("Detection", {
            "label": d.label,
            "bounding_box": d.box.to_relative(d.image_size),
            **_review_attrs(vote),
            "proposal_id": d.proposal.id if d.proposal is not None else None,
            "proposal_confidence": d.proposal.confidence if d.proposal is not None else None,
            "seconds_on_image": d.seconds_on_image,
            OWNER_ATTR: d.key,
            JOURNAL_ATTR: self.journal.journal_id,
            **(d.attributes or {}),
        }, label_id_for_key(dataset_name, d.sample_id, d.key, self.journal.journal_id))
        png = d.mask if d.mask is not None else d.proposal.mask if d.proposal else None
        stored = vote.get("mask")  # an edited mask, already in FiftyOne's form
        if stored is None and png is not None:
            stored = _stored_mask(png)
        if stored is not None:
            doc["mask"] = stored
        return doc


def _stored_mask(png: bytes) -> Any:
    """A mask (PNG bytes, as decisions hold it) in the form FiftyOne stores a detection's."""
    import fiftyone as fo

    return fo.Detection(mask=decode_mask(png)).to_mongo()["mask"]
