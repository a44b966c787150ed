"""A review session: the queue of samples, their proposals, and recording decisions.

The session is the widget's controller and works without a widget too (scripts, tests).

The decision path touches only the journal: ``decide``, ``add``, ``accept_all``, ``classify``,
``undo`` and ``redo`` write to the local SQLite journal (durable before they return) and update
the session's in-memory state; they never wait on MongoDB, so decisions keep being saved in
milliseconds while the database is hung or down. A background :class:`SyncWorker` replays the
journal into FiftyOne (``autosync=False``: only on ``flush()``); ``flush()`` waits until FiftyOne
has caught up, and on start anything a previous session journaled but did not sync is synced.

Parts: :mod:`~nblabel.reviewing.editor.loading` (a sample's image and proposals),
:mod:`~nblabel.reviewing.editor.history` (undo/redo),
:mod:`~nblabel.reviewing.editor.syncer` (background sync and its status),
:mod:`nblabel.store.claims` (team review).
"""

from __future__ import annotations

import getpass
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from nblabel.core.attributes import parse_attributes
from nblabel.core.labels import (
    Action,
    Box,
    Decision,
    InvalidLabelError,
)
from nblabel.core.rules import shown
from nblabel.reviewing.editor.decisions import make_decision, proposal_of
from nblabel.reviewing.editor.history import History, Step
from nblabel.reviewing.editor.loading import (
    SampleState,
    UnusableLabel,
    build_state,
    known_classes,
    read_patches,
)
from nblabel.reviewing.editor.progress import Progress
from nblabel.reviewing.editor.syncer import SyncStatus, SyncWorker, guarded
from nblabel.reviewing.editor.team import Team
from nblabel.store import shim
from nblabel.store.claims import CLAIM_FIELD, CLAIM_SECONDS
from nblabel.store.journal import DecisionJournal
from nblabel.store.schema import label_schema_attributes
from nblabel.store.sync import FiftyOneSync

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["CLAIM_FIELD", "CLAIM_SECONDS", "ReviewSession", "SampleState", "UnusableLabel"]

log = logging.getLogger(__name__)

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
    patches' proposals outlined). The view's label filters decide which proposals are shown.
    A sample is reviewed by the rule of :func:`nblabel.core.rules.is_complete`, over all
    reviewers. Team review: ``claims=True`` (default) keeps reviewers on different images;
    ``consensus=k`` has up to k reviewers review each image independently; ``claims=False``
    lets everyone review anything (a proposal shows the latest decision on it).
    """

    def __init__(
        self,
        view: fo.core.collections.SampleCollection,
        *,
        field: str = "predictions",
        gt_field: str = "ground_truth",
        reviewer: str | None = None,
        journal: DecisionJournal | str | os.PathLike[str] | None = None,
        queue: Sequence[str] | str | None = None,
        classes: Sequence[str] | None = None,
        autosync: bool = True,
        classification_field: str | None = None,
        gt_classification_field: str = "ground_truth_class",
        consensus: int | None = None,
        claims: bool = True,
        image_classes: Sequence[str] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        self.view = view
        #: The labels' attributes by class (:mod:`nblabel.core.attributes`): as declared, else
        #: from the dataset's FiftyOne label schema where one is set.
        self.attributes = parse_attributes(attributes if attributes is not None else
                                           label_schema_attributes(shim.root_dataset(view),
                                                                   gt_field, field))
        self.dataset = shim.root_dataset(view)  # patches views live in a generated dataset
        #: Patches views (``to_patches``, ``to_evaluation_patches``): per sample, the proposal
        #: ids the patches point at, and truth boxes the model missed (``fn`` patches).
        self.focus: dict[str, set[str]] = {}
        self.missed: dict[str, list[tuple[str, list[float]]]] = {}
        patch_order: list[str] | None = None
        if shim.is_patches(view):
            patch_order, self.focus, self.missed = read_patches(view, field,
                                                                gt_field)
            view = self.dataset.select(patch_order, ordered=True)
            self.view = view
        if consensus is not None and consensus < 1:
            raise ValueError(f"consensus needs at least 1 reviewer per image, got {consensus}")
        self.field = field
        self.gt_field = gt_field
        if image_classes and classification_field is None:
            # Image classes from scratch: decided like proposed ones (nothing proposed there).
            classification_field = f"{field}_class"
        self.classification_field = classification_field
        self.reviewer = reviewer or default_reviewer()
        if not isinstance(journal, DecisionJournal):
            journal = DecisionJournal(journal)
        self.journal = journal
        #: Consensus mode: each image is reviewed by up to ``consensus`` reviewers
        #: independently (merge them with :func:`nblabel.curation.consensus.merge_consensus`).
        self.consensus = consensus
        self.sync = FiftyOneSync(self.dataset, journal, field, gt_field,
                                 classification_field, gt_classification_field,
                                 per_journal_truth=consensus is not None,
                                 attributes=self.attributes)
        self.sync.declare()  # every field the session writes, before anything is written
        if isinstance(queue, str):  # an ordering name: see nblabel.curation.queue
            from nblabel.curation.queue import build_queue

            queue = build_queue(view, queue, field=field)
        self.queue: list[str] = (list(queue) if queue is not None else patch_order
                                 if patch_order is not None else list(view.values("id")))
        self._lock = threading.RLock()
        #: Claims, what to skip, consensus: this reviewer's place in the team.
        self.team = Team(self.dataset, self.reviewer, journal, self.sync.target, claims=claims,
                         consensus=consensus, has_decisions=lambda s: bool(self.decisions(s)))
        self.queue = self.team.open_for_consensus(self.queue)
        self.classes = (list(classes) if classes is not None else
                        known_classes(self.dataset, (field, gt_field)))
        #: Image-level classes to choose from when nothing proposes one (labeling from
        #: scratch: ``Alt+1`` … ``Alt+9`` set the image's class, stored in
        #: ``gt_classification_field``).
        self.image_classes = list(image_classes or [])
        #: Per sample: the journal's latest decision per key (``cleared`` ones dropped), read
        #: once from the journal and then kept up to date by this session's own decisions.
        self._decided: dict[str, dict[str, Decision]] = {}
        #: Which samples of the queue are reviewed (in consensus mode each reviewer counts
        #: their own: the tag, set once anyone finished, does not count).
        self.progress = Progress(self.queue, self.dataset, journal.completions(self.dataset.name),
                                 self.decisions, count_tagged=consensus is None,
                                 lock=self._lock)
        self.history: History[Step] = History()
        self.autosync = autosync
        self._worker = SyncWorker(self.sync, journal, autosync=autosync,
                                  after_sync=self.team.release_finished)
        self._worker.request()

    # -- samples -----------------------------------------------------------------------------

    def load(self, sample_id: str, max_side: int | None = None) -> SampleState:
        """The sample's image and proposals; a broken image gives ``error`` instead of raising,
        a badly stored proposal is listed in ``unusable`` with the reason.

        ``max_side``: send images larger than this as a preview (see ``load_display_image``).
        """
        cf = self.classification_field
        fields = ["filepath", self.field] + ([cf] if cf else [])
        # Through the view, so its label filters (e.g. by confidence) decide what is shown.
        paths, dets, *cls = shim.raw_values(self.view.select([sample_id]), fields)
        if not paths:  # not in the view (any more): the sample as stored
            paths, dets, *cls = shim.raw_values(self.dataset.select([sample_id]), fields)
        if not paths:
            raise KeyError(f"sample {sample_id} is not in dataset {self.dataset.name!r}")
        state = build_state(sample_id, paths[0], dets[0], cls[0][0] if cls else None,
                            self.field, cf, max_side)
        self.progress.remember(state)
        return state

    def load_guarded(self, sample_id: str, max_side: int | None = None,
                     timeout: float = 5.0) -> SampleState:
        """:meth:`load`, raising :class:`DatabaseUnreachable` if the database does not answer
        in ``timeout`` s."""
        return guarded(lambda: self.load(sample_id, max_side), timeout,
                       f"loading sample {sample_id}")

    # -- decisions ---------------------------------------------------------------------------

    def decisions(self, sample_id: str) -> dict[str, Decision]:
        """The current decision per key (proposal id or added-box id) on this sample."""
        with self._lock:
            cached = self._decided.get(sample_id)
            if cached is None:
                cached = self.journal.final_decisions(self.dataset.name,
                                                      [sample_id]).get(sample_id, {})
                self._decided[sample_id] = cached
            return dict(cached)

    def record(self, *decisions: Decision) -> list[Decision]:
        """Journal ``decisions`` (durable on return, one transaction) as one undoable step."""
        if not decisions:
            return []
        with self._lock:
            step: Step = []
            current = {sid: self.decisions(sid) for sid in {d.sample_id for d in decisions}}
            for d in decisions:
                step.append((current[d.sample_id].get(d.key), d))
                current[d.sample_id][d.key] = d
            self._append(list(decisions))
            self.history.done(step)
        return list(decisions)

    def _append(self, decisions: list[Decision]) -> None:
        self.journal.append_many(self.dataset.name, decisions)
        for d in decisions:
            per_key = self._decided.setdefault(d.sample_id, {})
            if d.action is Action.CLEARED:
                per_key.pop(d.key, None)
            else:
                per_key[d.key] = d
        for sid in {d.sample_id for d in decisions}:
            self.progress.update(sid)
        if self.autosync:
            self._worker.request()

    def undo(self) -> list[Decision]:
        """Withdraw the last step (restoring each key's previous decision); [] if none."""
        def write(step: Step) -> list[Decision]:
            restored = []
            for previous, done in reversed(step):
                if previous is not None:
                    restored.append(_reissue(previous))
                else:
                    restored.append(Decision.clear(done.sample_id, done.key, done.image_size,
                                                   done.proposal, reviewer=self.reviewer))
            self._append(restored)
            return restored

        with self._lock:
            return self.history.step_back(write) or []

    def redo(self) -> list[Decision]:
        """Apply the last undone step again; [] if none."""
        def write(step: Step) -> tuple[list[Decision], Step]:
            again = [(previous, _reissue(done)) for previous, done in step]
            self._append([d for _, d in again])
            return [d for _, d in again], again

        with self._lock:
            return self.history.step_forward(write) or []

    def set_mask(self, state: SampleState, key: str, mask: np.ndarray, *,
                 seconds_on_image: float = 0.0, source: str = "the edit") -> Decision:
        """Replace the mask of a proposal (an ``edited`` decision keeping its class) or of a
        box drawn here (still ``added``); the box follows the mask. One decision, one undo
        step; a :class:`~nblabel.segmentation.SegmentationError` when the mask is empty."""
        from nblabel.segmentation.base import mask_label

        if state.size is None:
            raise InvalidLabelError(f"cannot decide on {state.filepath}: {state.error}")
        box, png = mask_label(mask, source)
        d = make_decision(state, key, Action.EDITED, reviewer=self.reviewer,
                          decided=self.decisions(state.sample_id),
                          seconds_on_image=seconds_on_image, box=box, mask=png)
        self.record(d)
        return d

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
        d = make_decision(state, key, action, reviewer=self.reviewer,
                          decided=self.decisions(state.sample_id),
                          seconds_on_image=seconds_on_image, label=label, box=box)
        self.record(d)
        return d

    def set_attributes(self, state: SampleState, key: str, values: Mapping[str, Any], *,
                       seconds_on_image: float = 0.0) -> Decision:
        """Set attributes of a label (a proposal, decided or not, or a drawn box); ``None``
        clears one. Checked against the declaration for the label's class; one decision (a
        pending proposal becomes ``edited``: kept with its attributes), one undo step."""
        decided = self.decisions(state.sample_id)
        now = decided.get(key)
        proposal = proposal_of(state, key)
        label = now.label if now is not None and now.keeps_label and now.label else \
            proposal.label if proposal is not None else None
        if label is None:
            raise KeyError(f"no label with key {key} on sample {state.sample_id} to set "
                           "attributes on (a rejected proposal has none)")
        checked = self.attributes.check(label, values)
        action = Action.ADDED if now is not None and now.action is Action.ADDED else \
            Action.EDITED
        d = make_decision(state, key, action, reviewer=self.reviewer, decided=decided,
                          seconds_on_image=seconds_on_image, attributes=checked)
        self.record(d)
        return d

    def decide_many(
        self,
        state: SampleState,
        keys: Sequence[str],
        action: Action | str,
        *,
        seconds_on_image: float = 0.0,
        label: str | None = None,
        box: Box | None = None,
    ) -> list[Decision]:
        """Decide on several boxes of one image at once (a multi-selection): one journal
        transaction and one undo step. Every key is checked before anything is written."""
        decided = self.decisions(state.sample_id)
        ds = [make_decision(state, k, action, reviewer=self.reviewer, decided=decided,
                            seconds_on_image=seconds_on_image, label=label, box=box)
              for k in dict.fromkeys(keys)]
        return self.record(*ds)

    def accept_all(self, state: SampleState, min_confidence: float = 0.0, *,
                   seconds_on_image: float = 0.0, floors: Mapping[str, float] | None = None
                   ) -> list[Decision]:
        """Accept every undecided proposal shown at ``min_confidence`` and its source's floor
        (:func:`~nblabel.core.rules.shown`), as one undo step."""
        decided = self.decisions(state.sample_id)
        todo = [p for p in state.proposals if p.id not in decided
                and shown(p.confidence, p.source, min_confidence, floors)]
        return self.record(*[make_decision(state, p.id, Action.ACCEPTED, reviewer=self.reviewer,
                                           seconds_on_image=seconds_on_image,
                                            decided=decided) for p in todo])

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
            seconds_on_image: float = 0.0, mask: bytes | None = None) -> Decision:
        """Record a box the model missed (``mask``: its instance mask, PNG covering ``box``)."""
        if state.size is None:
            raise InvalidLabelError(f"cannot add a box on {state.filepath}: {state.error}")
        d = Decision.add(state.sample_id, state.size, label, box, reviewer=self.reviewer,
                         seconds_on_image=seconds_on_image, mask=mask)
        self.record(d)
        return d

    def complete(self, sample_id: str, seconds_on_image: float = 0.0) -> None:
        """Mark a sample finished with nothing left to decide (e.g. an image with no proposals)."""
        with self._lock:
            self.journal.mark_complete(self.dataset.name, sample_id, self.reviewer,
                                       seconds_on_image)
            self.progress.complete(sample_id)
        if self.autosync:
            self._worker.request()

    # -- progress ----------------------------------------------------------------------------

    # -- FiftyOne ----------------------------------------------------------------------------

    def sync_now(self) -> None:
        """Replay the journal into FiftyOne now (in the caller's thread)."""
        self.sync.sync()
        self.team.release_finished()

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every journaled decision is in FiftyOne; raises if the sync keeps failing.

        Also checks the journal's integrity (a damaged journal raises
        :class:`~nblabel.store.journal.JournalError`)."""
        self.journal.check()
        self._worker.request()
        deadline = time.monotonic() + timeout
        name = self.dataset.name
        while time.monotonic() < deadline:
            if self.journal.synced_seq(name, self.sync.target) >= self.journal.last_seq(name):
                if not self.team.releasing:
                    return
                self._worker.request()  # claims wait for a sync to be released
            time.sleep(0.02)
        raise TimeoutError(f"FiftyOne sync did not catch up in {timeout} s: "
                           f"{self.sync_status().message or 'still running'}")

    @property
    def sync_error(self) -> str | None:
        return self._worker.last_error

    def on_sync_status(self, fn: Callable[[SyncStatus], None]) -> None:
        """Call ``fn(status)`` from a background thread whenever the sync status changes."""
        self._worker.add_listener(fn)

    def sync_status(self) -> SyncStatus:
        """Where the sync stands: synced, syncing, or not reachable, and how many wait."""
        return self._worker.status()

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



def _reissue(d: Decision) -> Decision:
    """``d`` again, as a new decision made now (undo restores, redo repeats)."""
    return replace(d, id=uuid.uuid4().hex, decided_at=datetime.now(timezone.utc))
