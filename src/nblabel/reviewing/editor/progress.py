"""Review progress of a session's queue, from memory: the rule of
:func:`nblabel.core.rules.is_complete` applied to what the session loaded and decided, so
counting never waits on the database. What was reviewed when the session opened (the
``reviewed`` tag, this journal's completion marks) is read once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from nblabel.core.labels import IMAGE_LABEL_KEY, Decision
from nblabel.core.rules import is_complete
from nblabel.reviewing.editor.loading import SampleState
from nblabel.store.schema import REVIEWED_TAG

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["Progress"]


class Progress:
    """Which samples of a queue are reviewed."""

    def __init__(self, queue: Iterable[str], dataset: fo.Dataset, completed: Iterable[str],
                 decisions: Callable[[str], dict[str, Decision]], *,
                 count_tagged: bool = True, lock: threading.RLock | None = None) -> None:
        self.queue = set(queue)
        self.decisions = decisions
        #: The session's lock (``decisions`` takes it too: one lock, no lock-order deadlock).
        self._lock = lock or threading.RLock()
        self._completed = set(completed)
        tagged = set(dataset.match_tags(REVIEWED_TAG).values("id")) if count_tagged else set()
        #: Reviewed when the session opened (by anyone): they stay counted.
        self._at_start = (tagged | self._completed) & self.queue
        self._reviewed = set(self._at_start)
        #: Per loaded sample: its stored proposal ids and whether it has an image-level one.
        self._shape: dict[str, tuple[frozenset[str], bool]] = {}

    def remember(self, state: SampleState) -> None:
        """Keep what the rule needs about a loaded sample (no database later)."""
        if state.size is None:
            return
        with self._lock:
            self._shape[state.sample_id] = (state.proposal_ids, state.image_label is not None)
        self.update(state.sample_id)

    def complete(self, sample_id: str) -> None:
        with self._lock:
            self._completed.add(sample_id)
            if sample_id in self.queue:
                self._reviewed.add(sample_id)

    def update(self, sample_id: str) -> None:
        """Re-apply the rule after decisions on ``sample_id``."""
        with self._lock:
            if sample_id not in self.queue or sample_id in self._at_start:
                return
            if self._complete_now(sample_id):
                self._reviewed.add(sample_id)
            else:
                self._reviewed.discard(sample_id)

    def is_reviewed(self, sample_id: str) -> bool:
        with self._lock:
            return sample_id in self._reviewed or self._complete_now(sample_id)

    def counted(self, sample_id: str) -> bool:
        return sample_id in self._reviewed

    def count(self) -> int:
        return len(self._reviewed)

    def _complete_now(self, sample_id: str) -> bool:
        if sample_id not in self._shape:
            return sample_id in self._completed
        ids, has_class = self._shape[sample_id]
        decided = self.decisions(sample_id)
        return is_complete(ids, {d.proposal.id for d in decided.values() if d.proposal},
                           has_image_label=has_class, image_decided=IMAGE_LABEL_KEY in decided,
                           completed=sample_id in self._completed)
