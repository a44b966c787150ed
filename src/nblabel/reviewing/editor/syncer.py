"""The session's background sync: journal -> FiftyOne, never in the reviewer's way.

:class:`SyncWorker` replays the journal into FiftyOne in its own thread, coalescing bursts of
decisions, retrying while the database is down, and reporting a :class:`SyncStatus` (synced,
syncing, or not reachable, with how many decisions wait in the journal) to listeners such as
the widget. A database that hangs shows as not reachable after ``hang_after`` seconds without an
answer. After each successful sync it runs ``after_sync`` (the session releases claims on images
that are now durably finished).

:func:`guarded` runs a database call the reviewer would otherwise wait on (loading an image
that was not prefetched, claims) with a time limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from nblabel.store.journal import DecisionJournal
from nblabel.store.sync import FiftyOneSync

__all__ = ["DatabaseUnreachable", "SyncStatus", "SyncWorker", "guarded"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class DatabaseUnreachable(RuntimeError):
    """The dataset's database did not answer in time (it is down or hung)."""


def guarded(fn: Callable[[], T], timeout: float, what: str) -> T:
    """``fn()``, or :class:`DatabaseUnreachable` when it has not answered in ``timeout`` s (the
    call goes on in a daemon thread and its result is dropped)."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # handed to the caller
            error.append(exc)

    t = threading.Thread(target=run, name="nblabel-db", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise DatabaseUnreachable(f"the dataset is not reachable: {what} got no answer in "
                                  f"{timeout:g} s")
    if error:
        if _is_connection_error(error[0]):
            raise DatabaseUnreachable(f"the dataset is not reachable: {what} failed "
                                      f"({type(error[0]).__name__})") from error[0]
        raise error[0]
    return result[0]


def _is_connection_error(exc: BaseException) -> bool:
    try:
        from pymongo.errors import AutoReconnect, ServerSelectionTimeoutError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, AutoReconnect | ServerSelectionTimeoutError)


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """Where the sync stands. ``state``: ``synced``, ``syncing``, ``unreachable`` (the database
    is down or does not answer; decisions keep being journaled), ``error`` (another failure,
    retried) or ``paused`` (``autosync=False``)."""

    state: str
    waiting: int
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"state": self.state, "waiting": self.waiting, "message": self.message}


class SyncWorker:
    """Background thread replaying the journal into FiftyOne, coalescing bursts of decisions."""

    def __init__(
        self,
        sync: FiftyOneSync,
        journal: DecisionJournal,
        *,
        autosync: bool = True,
        delay: float = 0.05,
        retry: float = 1.0,
        hang_after: float = 5.0,
        after_sync: Callable[[], None] | None = None,
    ) -> None:
        self.sync = sync
        self.journal = journal
        self.autosync = autosync
        self.delay = delay
        self.retry = retry
        self.hang_after = hang_after
        self.after_sync = after_sync
        sync.heartbeat = self._alive
        self.last_error: str | None = None
        self._unreachable = False
        self._busy_since: float | None = None
        self._listeners: list[Callable[[SyncStatus], None]] = []
        self._status: SyncStatus | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nblabel-sync", daemon=True)
        self._monitor = threading.Thread(target=self._watch, name="nblabel-sync-status",
                                         daemon=True)
        self._thread.start()
        self._monitor.start()

    def request(self) -> None:
        self._wake.set()

    def _alive(self) -> None:
        """The database answered: the sync is slow, not hung."""
        if self._busy_since is not None:
            self._busy_since = time.monotonic()

    def add_listener(self, fn: Callable[[SyncStatus], None]) -> None:
        """Call ``fn(status)`` whenever the status changes (from a background thread)."""
        self._listeners.append(fn)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._monitor.join(timeout=2)

    def status(self) -> SyncStatus:
        """The current status (a SQLite count; no database call)."""
        name = self.sync.dataset.name
        try:
            waiting = self.journal.waiting(name, self.sync.target)
        except Exception as exc:  # a journal fault is an error of its own
            return SyncStatus("error", 0, str(exc))
        busy = self._busy_since
        hung = busy is not None and time.monotonic() - busy > self.hang_after
        saved = f"{waiting} decision(s) wait in the journal (saved on disk)"
        if hung or self._unreachable:
            why = (f"no answer for {time.monotonic() - busy:.0f} s" if hung and busy is not None
                   else "connection failed")
            return SyncStatus("unreachable", waiting,
                              f"dataset not reachable ({why}): {saved}; syncing when it returns")
        if self.last_error:
            return SyncStatus("error", waiting, f"{self.last_error}; {saved}")
        if not self.autosync:
            return SyncStatus("paused" if waiting else "synced", waiting,
                              f"sync paused: {saved}" if waiting else "")
        return SyncStatus("syncing" if waiting else "synced", waiting, "")

    def _notify(self) -> None:
        status = self.status()
        if status != self._status:
            self._status = status
            for fn in list(self._listeners):
                try:
                    fn(status)
                except Exception as exc:  # a listener must not stop the sync
                    log.debug("sync status listener failed: %s", exc)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            if self._listeners:
                self._notify()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                return
            time.sleep(self.delay)
            self._wake.clear()
            if self.journal.closed or self.sync.dataset.deleted:
                return
            self._busy_since = time.monotonic()
            try:
                self.sync.sync()
                self.last_error = None
                self._unreachable = False
                if self.after_sync is not None:
                    self.after_sync()
            except Exception as exc:  # keep decisions in the journal, retry later
                self._unreachable = _is_connection_error(exc)
                self.last_error = f"sync to FiftyOne failed (will retry): {exc!r}"[:500]
                log.warning(self.last_error)
                self._busy_since = None
                self._notify()
                self._stop.wait(self.retry)
                self._wake.set()
            finally:
                self._busy_since = None
            self._notify()
