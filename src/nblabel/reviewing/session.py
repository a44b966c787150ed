"""A review session: the queue of samples, their proposals, and recording decisions.

The session is the widget's controller and works without a widget too (scripts, tests):
``decide`` writes the decision to the journal (durable before it returns), then a background
thread replays the journal into FiftyOne (``autosync=False``: only on ``flush()``, e.g. to review
offline and sync later). ``flush()`` waits until FiftyOne has caught up. On start, anything a
previous session journaled but did not sync (a kernel that died) is synced.
"""

from __future__ import annotations

import getpass
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from nblabel.core.images import (
    DisplayImage,
    ImageLoadError,
    encode_mask,
    load_display_image,
)
from nblabel.core.labels import (
    IMAGE_LABEL_KEY,
    Action,
    Box,
    Decision,
    ImageSize,
    InvalidLabelError,
    Proposal,
)
from nblabel.store.journal import DecisionJournal
from nblabel.store.sync import FiftyOneSync

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["CLAIM_FIELD", "CLAIM_SECONDS", "ReviewSession", "SampleState"]

log = logging.getLogger(__name__)

#: Sample field holding a reviewer's claim: ``{"reviewer": ..., "until": datetime}``.
CLAIM_FIELD = "nblabel_claim"
CLAIM_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class SampleState:
    """One sample as the reviewer sees it: image (or the error loading it) and proposals."""

    sample_id: str
    filepath: str
    image: DisplayImage | None
    error: str | None
    size: ImageSize | None
    proposals: tuple[Proposal, ...]
    image_label: Proposal | None = None


def _labels_of(value: Any) -> list[Any]:
    """The label objects in a patch's field (a ``Detections`` or a single ``Detection``)."""
    if value is None:
        return []
    return list(value.detections) if hasattr(value, "detections") else [value]


def default_reviewer() -> str:
    """``$NBLABEL_REVIEWER``, else the login name."""
    name = os.environ.get("NBLABEL_REVIEWER")
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


class ReviewSession:
    """Review the samples of a FiftyOne view, in ``queue`` order: a list of sample ids, or the
    name of an ordering of :func:`nblabel.curation.queue.build_queue` (``"difficulty"``, ...);
    by default the view's order.

    Any view works: filtered by tags, evaluation results or confidence, a saved view, a patches
    view (``to_patches`` / ``to_evaluation_patches``: the images behind the patches, with the
    patches' proposals outlined). The view's label filters decide which proposals are shown;
    a sample is tagged ``reviewed`` only once every proposal it holds is decided (or it is
    marked complete), so a confidence-filtered pass leaves the hidden ones open, on purpose.
    Team review: ``claim``/``taken_by_others`` keep reviewers on different images;
    ``consensus=k`` has up to k reviewers review each image independently.
    """

    def __init__(
        self,
        view: fo.core.collections.SampleCollection,
        *,
        predictions_field: str = "predictions",
        gt_field: str = "ground_truth",
        reviewer: str | None = None,
        journal: DecisionJournal | str | os.PathLike[str] | None = None,
        queue: Sequence[str] | str | None = None,
        classes: Sequence[str] | None = None,
        autosync: bool = True,
        classification_field: str | None = None,
        gt_classification_field: str = "ground_truth_class",
        consensus: int | None = None,
    ) -> None:
        self.view = view
        self.dataset = view._root_dataset  # patches views live in a generated dataset
        #: Patches views (``to_patches``, ``to_evaluation_patches``): per sample, the proposal
        #: ids the patches point at, and truth boxes the model missed (``fn`` patches).
        self.focus: dict[str, set[str]] = {}
        self.missed: dict[str, list[tuple[str, list[float]]]] = {}
        patch_order: list[str] | None = None
        if view._is_patches:
            patch_order = self._read_patches(view, predictions_field, gt_field)
            view = self.dataset.select(patch_order, ordered=True)
            self.view = view
        if not self.dataset.has_sample_field(predictions_field) and classification_field:
            # Image classification review: boxes may still be drawn, so the (empty) proposals
            # field is declared.
            import fiftyone as fo

            self.dataset.add_sample_field(predictions_field, fo.EmbeddedDocumentField,
                                          embedded_doc_type=fo.Detections)
        if not self.dataset.has_sample_field(predictions_field):
            raise ValueError(
                f"dataset {self.dataset.name!r} has no field {predictions_field!r} with proposals;"
                " run nblabel.preannotate() first or pass predictions_field="
            )
        self.predictions_field = predictions_field
        self.gt_field = gt_field
        self.classification_field = classification_field
        self.reviewer = reviewer or default_reviewer()
        if not isinstance(journal, DecisionJournal):
            journal = DecisionJournal(journal)
        self.journal = journal
        if isinstance(queue, str):  # an ordering name: see nblabel.curation.queue
            from nblabel.curation.queue import build_queue

            queue = build_queue(view, queue, field=predictions_field)
        self.queue: list[str] = (list(queue) if queue is not None else patch_order
                                 if patch_order is not None else list(view.values("id")))
        if consensus is not None and consensus < 1:
            raise ValueError(f"consensus needs at least 1 reviewer per image, got {consensus}")
        #: Consensus mode: each image is reviewed by up to ``consensus`` reviewers
        #: independently (merge them with :func:`nblabel.curation.consensus.merge_consensus`).
        self.consensus = consensus
        if consensus is not None:
            self.queue = self._open_for_consensus(self.queue)
        elif not self.dataset.has_sample_field(CLAIM_FIELD):
            import fiftyone as fo

            self.dataset.add_sample_field(CLAIM_FIELD, fo.DictField)
        self._fo_lock = threading.RLock()
        self.sync = FiftyOneSync(self.dataset, journal, predictions_field, gt_field,
                                 classification_field, gt_classification_field)
        self.classes = list(classes) if classes is not None else self._known_classes()
        self._queue_set = set(self.queue)
        self._reviewed = self._reviewed_among(self.queue)
        self._undo: list[list[tuple[Decision | None, Decision]]] = []
        self._redo: list[list[tuple[Decision | None, Decision]]] = []
        self.autosync = autosync
        self._worker = _SyncWorker(self)
        self._worker.request()

    # -- samples -----------------------------------------------------------------------------

    def _known_classes(self) -> list[str]:
        names: set[str] = set()
        with self._fo_lock:
            for f in (self.predictions_field, self.gt_field):
                if self.dataset.has_sample_field(f):
                    names.update(x for x in self.dataset.distinct(f"{f}.detections.label") if x)
        return sorted(names)

    def load(self, sample_id: str, max_side: int | None = None) -> SampleState:
        """The sample's image and proposals; a broken image gives ``error`` instead of raising.

        ``max_side``: send images larger than this as a preview (see ``load_display_image``).
        """
        cf = self.classification_field
        fields = ["filepath", self.predictions_field] + ([cf] if cf else [])
        with self._fo_lock:
            # Through the view, so its label filters (e.g. by confidence) decide what is shown.
            paths, dets, *cls = self.view.select([sample_id]).values(fields)
            if not paths:  # not in the view (any more): the sample as stored
                paths, dets, *cls = self.dataset.select([sample_id]).values(fields)
        if not paths:
            raise KeyError(f"sample {sample_id} is not in dataset {self.dataset.name!r}")
        path = paths[0]
        image: DisplayImage | None = None
        error: str | None = None
        size: ImageSize | None = None
        try:
            image = load_display_image(path, max_side=max_side)
            size = image.size
        except ImageLoadError as exc:
            error = str(exc)
        proposals: list[Proposal] = []
        if size is not None and dets[0] is not None:
            for det in dets[0].detections:
                try:
                    mask = det.mask if det.has_field("mask") else None
                    proposals.append(Proposal(
                        label=det.label,
                        box=Box.from_relative(det.bounding_box, size),
                        confidence=det.confidence,
                        source=det.get_field("source") if det.has_field("source") else "",
                        id=det.id,
                        mask=encode_mask(mask) if mask is not None else None,
                    ))
                except (InvalidLabelError, TypeError, ValueError) as exc:
                    log.warning("skipping invalid proposal %s on %s: %s", det.id, sample_id, exc)
        image_label = None
        if cls and cls[0][0] is not None and size is not None:
            c = cls[0][0]
            scores = c.get_field("scores") if c.has_field("scores") else None
            try:
                image_label = Proposal(c.label, Box(0, 0, size.width, size.height),
                                       c.confidence, scores=scores if isinstance(scores, dict)
                                       else None, id=c.id)
            except (InvalidLabelError, TypeError) as exc:
                log.warning("skipping invalid image label on %s: %s", sample_id, exc)
        return SampleState(sample_id, path, image, error, size, tuple(proposals), image_label)

    # -- decisions ---------------------------------------------------------------------------

    def decisions(self, sample_id: str) -> dict[str, Decision]:
        """The current decision per key (proposal id or added-box id) on this sample."""
        return self.journal.final_decisions(self.dataset.name, [sample_id]).get(sample_id, {})

    def record(self, *decisions: Decision) -> list[Decision]:
        """Journal ``decisions`` (durable on return) as one undoable step; schedule the sync."""
        step: list[tuple[Decision | None, Decision]] = []
        for d in decisions:
            previous = self.decisions(d.sample_id).get(d.key)
            self._append(d)
            step.append((previous, d))
        if step:
            self._undo.append(step)
            self._redo.clear()
        return list(decisions)

    def _append(self, decision: Decision) -> None:
        self.journal.append(self.dataset.name, decision)
        self._note_changes([decision.sample_id])
        if self.autosync:
            self._worker.request()

    def _reissue(self, d: Decision) -> Decision:
        return replace(d, id=uuid.uuid4().hex, decided_at=datetime.now(timezone.utc))

    def undo(self) -> list[Decision]:
        """Withdraw the last step (restoring each key's previous decision); [] if none."""
        if not self._undo:
            return []
        step = self._undo.pop()
        restored = []
        for previous, done in reversed(step):
            if previous is not None:
                back = self._reissue(previous)
            else:
                back = Decision.clear(done.sample_id, done.key, done.image_size, done.proposal,
                                      reviewer=self.reviewer)
            self._append(back)
            restored.append(back)
        self._redo.append(step)
        return restored

    def redo(self) -> list[Decision]:
        """Apply the last undone step again; [] if none."""
        if not self._redo:
            return []
        step = self._redo.pop()
        again = []
        for previous, done in step:
            d = self._reissue(done)
            self._append(d)
            again.append((previous, d))
        self._undo.append(again)
        return [d for _, d in again]

    def _proposal(self, state: SampleState, proposal_id: str) -> Proposal:
        if state.size is None:
            raise InvalidLabelError(f"cannot decide on {state.filepath}: {state.error}")
        proposal = next((p for p in state.proposals if p.id == proposal_id), None)
        if proposal is None:
            raise KeyError(f"proposal {proposal_id} is not on sample {state.sample_id}")
        return proposal

    def _decision(
        self,
        state: SampleState,
        key: str,
        action: Action | str,
        seconds_on_image: float,
        label: str | None = None,
        box: Box | None = None,
    ) -> Decision:
        action = Action(action)
        if state.size is None:
            raise InvalidLabelError(f"cannot decide on {state.filepath}: {state.error}")
        common: dict[str, Any] = {"reviewer": self.reviewer, "seconds_on_image": seconds_on_image}
        sid, size = state.sample_id, state.size
        if not any(p.id == key for p in state.proposals):
            added = self.decisions(sid).get(key)
            if added is None or added.action is not Action.ADDED:
                raise KeyError(f"nothing with key {key} on sample {sid}")
            if action is Action.REJECTED:  # deleting a box drawn by hand
                return Decision.clear(sid, key, size, **common)
            assert added.label is not None and added.box is not None
            return Decision.add(sid, size, label or added.label, box or added.box, key=key,
                                **common)
        proposal = self._proposal(state, key)
        if action is Action.ACCEPTED:
            return Decision.accept(sid, proposal, size, **common)
        if action is Action.REJECTED:
            return Decision.reject(sid, proposal, size, **common)
        if action is Action.EDITED:
            current = self.decisions(sid).get(key)
            base = current if current is not None and current.box is not None else None
            return Decision.edit(
                sid, proposal, size,
                label or (base.label if base and base.label else proposal.label),
                box or (base.box if base and base.box else proposal.box),
                **common,
            )
        raise InvalidLabelError(f"{action.value} is not a decision on a proposal")

    def decide(
        self,
        state: SampleState,
        key: str,
        action: Action | str,
        *,
        seconds_on_image: float = 0.0,
        label: str | None = None,
        box: Box | None = None,
    ) -> Decision:
        """Accept, reject or edit a proposal (``key`` = its id) or a box drawn by hand (``key``
        = the added box's key: ``edited`` moves/relabels it, ``rejected`` deletes it)."""
        d = self._decision(state, key, action, seconds_on_image, label, box)
        self.record(d)
        return d

    def accept_all(self, state: SampleState, min_confidence: float = 0.0, *,
                   seconds_on_image: float = 0.0) -> list[Decision]:
        """Accept every undecided proposal with confidence >= ``min_confidence`` (one undo step)."""
        decided = self.decisions(state.sample_id)
        todo = [p for p in state.proposals if p.id not in decided
                and (p.confidence is None or p.confidence >= min_confidence)]
        return self.record(*[self._decision(state, p.id, Action.ACCEPTED, seconds_on_image)
                             for p in todo])

    def classify(self, state: SampleState, action: Action | str, label: str | None = None, *,
                 seconds_on_image: float = 0.0) -> Decision:
        """Decide on the image's class: ``accepted`` (the proposed class), ``edited`` (replaced
        by ``label``), ``rejected`` (no class applies) or ``added`` (set with no proposal)."""
        action = Action(action)
        if state.size is None:
            raise InvalidLabelError(f"cannot label {state.filepath}: {state.error}")
        proposal = state.image_label
        if proposal is None and action is not Action.ADDED:
            if action is Action.EDITED and label:
                action = Action.ADDED
            else:
                raise InvalidLabelError(f"sample {state.sample_id} has no image-level proposal")
        if action is Action.ACCEPTED:
            assert proposal is not None
            label = proposal.label
        d = Decision.image_label(state.sample_id, action, state.size, label,
                                 proposal if action is not Action.ADDED else None,
                                 reviewer=self.reviewer, seconds_on_image=seconds_on_image)
        self.record(d)
        return d

    def add(self, state: SampleState, label: str, box: Box, *,
            seconds_on_image: float = 0.0) -> Decision:
        """Record a box the model missed."""
        if state.size is None:
            raise InvalidLabelError(f"cannot add a box on {state.filepath}: {state.error}")
        d = Decision.add(state.sample_id, state.size, label, box, reviewer=self.reviewer,
                         seconds_on_image=seconds_on_image)
        self.record(d)
        return d

    def complete(self, sample_id: str, seconds_on_image: float = 0.0) -> None:
        """Mark a sample finished with nothing left to decide (e.g. an image with no proposals)."""
        self.journal.mark_complete(self.dataset.name, sample_id, self.reviewer, seconds_on_image)
        self._note_changes([sample_id])
        if self.autosync:
            self._worker.request()

    def is_reviewed(self, sample_id: str) -> bool:
        """Every proposal decided (and at least one), or marked complete, or tagged reviewed."""
        return sample_id in self._reviewed_among([sample_id])

    def counted_reviewed(self, sample_id: str) -> bool:
        """Whether ``sample_id`` is among the queue's reviewed samples (no database query)."""
        return sample_id in self._reviewed

    def reviewed_count(self) -> int:
        """How many samples of the queue are reviewed (the same rule as the ``reviewed`` tag)."""
        return len(self._reviewed)

    def _read_patches(self, patches: Any, pf: str, gf: str) -> list[str]:
        """The samples behind a patches view, in patch order; fills ``focus`` and ``missed``."""
        schema = patches.get_field_schema()
        has_type = "type" in schema
        wanted = [f for f in (pf, gf) if f in schema]
        rows = patches.values(["sample_id", *wanted] + (["type"] if has_type else []))
        order: list[str] = list(dict.fromkeys(rows[0]))
        for k, sid in enumerate(rows[0]):
            values = dict(zip(wanted, (r[k] for r in rows[1:1 + len(wanted)]), strict=True))
            kind = rows[-1][k] if has_type else None
            if kind != "tp":
                for det in _labels_of(values.get(pf)):
                    self.focus.setdefault(sid, set()).add(det.id)
            if kind == "fn":
                for det in _labels_of(values.get(gf)):
                    self.missed.setdefault(sid, []).append((det.label, list(det.bounding_box)))
        return order

    # -- team review -------------------------------------------------------------------------

    def _open_for_consensus(self, sample_ids: list[str]) -> list[str]:
        """The samples that still need this reviewer: fewer than ``consensus`` reviewers so
        far, or this reviewer among them."""
        from nblabel.store.sync import REVIEWERS_FIELD

        if not self.dataset.has_sample_field(REVIEWERS_FIELD):
            return sample_ids
        ids, reviewers = self.dataset.select(sample_ids).values(["id", REVIEWERS_FIELD])
        k = self.consensus or 1
        full = {sid for sid, r in zip(ids, reviewers, strict=True)
                if r and len(r) >= k and self.reviewer not in r}
        return [s for s in sample_ids if s not in full]

    def claim(self, sample_id: str) -> str | None:
        """Claim ``sample_id`` for this reviewer (team review without consensus).

        Returns ``None`` when the claim is this reviewer's, else the name of the reviewer who
        holds a live claim (claims last :data:`CLAIM_SECONDS` and are renewed while the image
        is shown). The claim is one atomic update, so two kernels cannot both hold it.
        """
        if self.consensus is not None:
            return None
        from bson import ObjectId

        coll = self.dataset._sample_collection
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        until = datetime.fromtimestamp(time.time() + CLAIM_SECONDS, timezone.utc)
        res = coll.update_one(
            {"_id": ObjectId(sample_id), "$or": [
                {CLAIM_FIELD: None},
                {f"{CLAIM_FIELD}.reviewer": self.reviewer},
                {f"{CLAIM_FIELD}.until": {"$lt": now}},
            ]},
            {"$set": {CLAIM_FIELD: {"reviewer": self.reviewer,
                                    "until": until.replace(tzinfo=None)}}},
        )
        if res.matched_count:
            return None
        doc = coll.find_one({"_id": ObjectId(sample_id)}, {CLAIM_FIELD: 1}) or {}
        return str((doc.get(CLAIM_FIELD) or {}).get("reviewer") or "") or None

    def release(self, sample_id: str) -> None:
        """Give up this reviewer's claim on ``sample_id`` (if it holds one)."""
        if self.consensus is not None:
            return
        from bson import ObjectId

        self.dataset._sample_collection.update_one(
            {"_id": ObjectId(sample_id), f"{CLAIM_FIELD}.reviewer": self.reviewer},
            {"$set": {CLAIM_FIELD: None}},
        )

    def taken_by_others(self, sample_ids: Sequence[str]) -> dict[str, str]:
        """Which of these samples another reviewer holds or finished: id -> why.

        In team review the widget's next/previous skip them (going to one by position still
        shows it). In consensus mode nothing is taken: every reviewer sees every image.
        """
        if self.consensus is not None or not sample_ids:
            return {}
        from bson import ObjectId

        from nblabel.store.sync import REVIEWED_TAG, REVIEWERS_FIELD

        now = datetime.now(timezone.utc).replace(tzinfo=None)
        out: dict[str, str] = {}
        finished: dict[str, list[str]] = {}  # reviewed by others: taken unless mine too
        for doc in self.dataset._sample_collection.find(
            {"_id": {"$in": [ObjectId(s) for s in sample_ids]}},
            {CLAIM_FIELD: 1, "tags": 1, REVIEWERS_FIELD: 1},
        ):
            sid = str(doc["_id"])
            claim = doc.get(CLAIM_FIELD) or {}
            others = [r for r in doc.get(REVIEWERS_FIELD) or [] if r != self.reviewer]
            if claim.get("reviewer") not in (None, self.reviewer) and claim["until"] > now:
                out[sid] = f"{claim['reviewer']} is reviewing it"
            elif REVIEWED_TAG in (doc.get("tags") or []) and others:
                finished[sid] = others
        if finished:  # the journal is read only for these (this runs on every key press)
            mine = self.journal.final_decisions(self.dataset.name, list(finished))
            out.update({sid: f"reviewed by {', '.join(others)}"
                        for sid, others in finished.items() if not mine.get(sid)})
        return out

    def _reviewed_among(self, sample_ids: Sequence[str]) -> set[str]:
        from nblabel.store.sync import REVIEWED_TAG

        if not sample_ids:
            return set()
        name = self.dataset.name
        done = set(self.journal.completions(name, sample_ids))
        final = self.journal.final_decisions(name, sample_ids)
        cf = self.classification_field
        with self._fo_lock:
            ids, prop_ids, tags, *cls = self.dataset.select(list(sample_ids)).values(
                ["id", f"{self.predictions_field}.detections.id", "tags"]
                + ([f"{cf}.id"] if cf else [])
            )
        class_ids = cls[0] if cls else [None] * len(ids)
        for sid, pids, t, cid in zip(ids, prop_ids, tags, class_ids, strict=True):
            decisions = final.get(sid, {})
            decided = {d.proposal.id for d in decisions.values() if d.proposal}
            image_done = IMAGE_LABEL_KEY in decisions
            boxes_done = set(pids or []) <= decided
            tagged = REVIEWED_TAG in (t or []) and self.consensus is None
            if tagged or (
                boxes_done and (image_done or cid is None) and (pids or image_done)
            ):
                done.add(sid)
        return done

    def _note_changes(self, sample_ids: Sequence[str]) -> None:
        """Update the reviewed set after decisions on these samples."""
        ids = [s for s in dict.fromkeys(sample_ids) if s in self._queue_set]
        now = self._reviewed_among(ids)
        self._reviewed.difference_update(ids)
        self._reviewed.update(now)

    # -- FiftyOne ----------------------------------------------------------------------------

    def sync_now(self) -> None:
        """Replay the journal into FiftyOne now (in the caller's thread)."""
        with self._fo_lock:
            self.sync.sync()

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every journaled decision is in FiftyOne; raises if the sync keeps failing."""
        self._worker.request()
        deadline = time.monotonic() + timeout
        name = self.dataset.name
        while time.monotonic() < deadline:
            if self.journal.synced_seq(name, self.sync.target) >= self.journal.last_seq(name):
                return
            time.sleep(0.02)
        raise TimeoutError(f"FiftyOne sync did not catch up in {timeout} s: "
                           f"{self._worker.last_error or 'still running'}")

    @property
    def sync_error(self) -> str | None:
        return self._worker.last_error

    def close(self, timeout: float = 10.0) -> None:
        """Sync what is left (what cannot be synced stays in the journal) and stop syncing."""
        try:
            if not self.journal.closed and not self.dataset.deleted:
                self.flush(timeout)
        finally:
            self._worker.stop()

    def __enter__(self) -> ReviewSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SyncWorker:
    """Background thread replaying the journal into FiftyOne, coalescing bursts of decisions."""

    def __init__(self, session: ReviewSession, delay: float = 0.05, retry: float = 2.0) -> None:
        self.session = session
        self.delay = delay
        self.retry = retry
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nblabel-sync", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                return
            time.sleep(self.delay)
            self._wake.clear()
            if self.session.journal.closed or self.session.dataset.deleted:
                return
            try:
                self.session.sync_now()
                self.last_error = None
            except Exception as exc:  # keep decisions in the journal, retry later
                self.last_error = f"sync to FiftyOne failed (will retry): {exc!r}"
                log.warning(self.last_error)
                self._stop.wait(self.retry)
                self._wake.set()
