"""Team review from one reviewer's side: claims (who holds an image), what to skip (images other
reviewers hold or finished), consensus (images that still need this reviewer), and releasing
claims only once an image's decisions are in FiftyOne.

Database calls here are what a reviewer's navigation waits on, so each has a time limit
(:data:`DB_WAIT_S`): past it, the review goes on without the check and says why in the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from nblabel.reviewing.editor.syncer import DatabaseUnreachable, guarded
from nblabel.store.claims import Claims
from nblabel.store.journal import DecisionJournal
from nblabel.store.schema import REVIEWERS_FIELD

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["DB_WAIT_S", "Team"]

log = logging.getLogger(__name__)

#: Seconds a navigation waits on the database for claims before going on without them (a
#: busy database answers well within this; one that does not is down or hung).
DB_WAIT_S = 10.0


class Team:
    """One reviewer's place in a team: ``claims=False`` or ``consensus`` turn claims off
    (consensus: each image is reviewed by up to ``consensus`` reviewers independently)."""

    def __init__(
        self,
        dataset: fo.Dataset,
        reviewer: str,
        journal: DecisionJournal,
        sync_target: str,
        *,
        claims: bool = True,
        consensus: int | None = None,
        has_decisions: Callable[[str], bool] = lambda sample_id: False,
    ) -> None:
        self.dataset = dataset
        self.reviewer = reviewer
        self.journal = journal
        self.sync_target = sync_target
        self.consensus = consensus
        self.has_decisions = has_decisions
        self.claims = Claims(dataset, reviewer) if claims and consensus is None else None
        self._lock = threading.Lock()
        #: Claims to give up once the image's decisions are synced: sample id -> journal seqs.
        self._to_release: dict[str, tuple[int, int]] = {}

    def open_for_consensus(self, sample_ids: list[str]) -> list[str]:
        """The samples that still need this reviewer: fewer than ``consensus`` reviewers so
        far, or this reviewer among them."""
        if self.consensus is None or not self.dataset.has_sample_field(REVIEWERS_FIELD):
            return sample_ids
        ids, reviewers = self.dataset.select(sample_ids).values(["id", REVIEWERS_FIELD])
        full = {sid for sid, r in zip(ids, reviewers, strict=True)
                if r and len(r) >= self.consensus and self.reviewer not in r}
        return [s for s in sample_ids if s not in full]

    def claim(self, sample_id: str) -> str | None:
        """Claim ``sample_id`` (renewing this reviewer's claim). Returns ``None`` when the claim
        is this reviewer's (or claims are off, or the database does not answer in time), else
        the name of the reviewer who holds a live claim."""
        claims = self.claims
        if claims is None:
            return None
        with self._lock:
            self._to_release.pop(sample_id, None)
        try:
            return guarded(lambda: claims.claim(sample_id), DB_WAIT_S, "claiming the image")
        except DatabaseUnreachable as exc:
            log.warning("%s", exc)
            return None

    def take(self, sample_id: str) -> str | None:
        """Claim ``sample_id`` for moving onto it: ``None`` when this reviewer may review it,
        else why not (another reviewer holds it or has finished it: one atomic check)."""
        claims = self.claims
        if claims is None:
            return None
        if self.has_decisions(sample_id):  # this reviewer's own image: theirs to come back to
            holder = self.claim(sample_id)
            return f"{holder} is reviewing it" if holder else None
        with self._lock:
            self._to_release.pop(sample_id, None)
        try:
            return guarded(lambda: claims.take(sample_id), DB_WAIT_S, "claiming the image")
        except DatabaseUnreachable as exc:
            # Not known to be ours: skip it (never review an image someone else may hold),
            # and give the claim back should the unanswered call still get it.
            log.warning("%s", exc)
            with self._lock:
                self._to_release[sample_id] = (0, 0)
            return "the dataset did not answer"

    def release(self, sample_id: str) -> None:
        """Give up this reviewer's claim on ``sample_id`` once its decisions are in FiftyOne
        (after the next sync; another reviewer can never open it half-synced)."""
        if self.claims is None:
            return
        with self._lock:
            self._to_release[sample_id] = self.journal.last_seq(self.dataset.name)

    @property
    def releasing(self) -> bool:
        """Whether claims wait to be released after the next sync."""
        return bool(self._to_release)

    def release_finished(self) -> None:
        """After a sync: release the claims whose images are now durably finished."""
        if self.claims is None or not self._to_release:
            return
        synced = self.journal.synced_seq(self.dataset.name, self.sync_target)
        with self._lock:
            ready = [sid for sid, seq in self._to_release.items()
                     if seq[0] <= synced[0] and seq[1] <= synced[1]]
        if ready:
            self.claims.release(ready)
            with self._lock:
                for sid in ready:
                    self._to_release.pop(sid, None)

    def taken_by_others(self, sample_ids: Sequence[str]) -> dict[str, str]:
        """Which of these samples another reviewer holds or finished: id -> why.

        Next/previous skip them (going to one by position still shows it). In consensus mode,
        or with claims off, nothing is taken; when the database does not answer in time,
        nothing is skipped.
        """
        claims = self.claims
        if claims is None or not sample_ids:
            return {}
        try:
            held, finished = guarded(lambda: claims.held_or_finished(sample_ids), DB_WAIT_S,
                                     "checking claims")
        except DatabaseUnreachable as exc:
            log.warning("%s", exc)
            return {}
        out = {sid: f"{who} is reviewing it" for sid, who in held.items()}
        out.update({sid: f"reviewed by {', '.join(others)}"
                    for sid, others in finished.items() if not self.has_decisions(sid)})
        return out
