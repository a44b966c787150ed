"""Media sent ahead on a worker thread, for every kind that steps through items the kernel
must read (video frames, volume slices): the browser asks for the items around the one it shows
that it lacks (requests add up); the worker sends those still near the latest request, ahead of
it first, in chunks, while the kernel stays free for decisions. The windows are data
(:class:`~nblabel.reviewing.editor.contract.MediaWindow`, from the shared contract)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from nblabel.reviewing.editor.contract import MediaWindow

__all__ = ["MediaWorker"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class MediaWorker(Generic[T]):
    """Serve ``read(k)`` (an encoded item, or None to leave it out) to ``send(batch)`` on a
    daemon thread. ``failed(message)`` hears a named error of one item (the others go on)
    or of a send (a closed comm)."""

    def __init__(self, window: MediaWindow, read: Callable[[int], T | None],
                 send: Callable[[Sequence[tuple[int, T]]], None],
                 failed: Callable[[str], None], named: tuple[type[Exception], ...] = ()) -> None:
        self.window = window
        self._read, self._send, self._failed, self._named = read, send, failed, named
        self._lock = threading.Lock()
        self._at: int | None = None
        self._missing: set[int] = set()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True, name="nblabel-media")
        self._thread.start()

    @property
    def at(self) -> int | None:
        """The item the browser showed when it last asked."""
        return self._at

    def want(self, at: int, missing: Sequence[int]) -> None:
        """The browser shows ``at`` and lacks ``missing`` (added to what it asked before)."""
        with self._lock:
            self._at = int(at)
            self._missing.update(int(k) for k in missing)
        self._wake.set()

    def order(self, at: int, missing: Sequence[int]) -> list[int]:
        """Those of ``missing`` near ``at``: ahead first, each group in order (a sequential
        decoder goes on from where it stopped)."""
        near = [k for k in missing if self.window.near(at, k)]
        return sorted(k for k in near if k >= at) + sorted(k for k in near if k < at)

    def _serve(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                at, missing = self._at, sorted(self._missing)
                self._missing.clear()
            if at is None or not missing:
                continue
            try:
                self._serve_once(at, missing)
            except Exception as exc:  # a closed comm, a dead kernel: nothing to send to
                log.exception("media could not be sent")
                self._failed(f"could not send: {exc}")

    def _serve_once(self, at: int, missing: list[int]) -> None:
        batch: list[tuple[int, T]] = []
        for k in self.order(at, missing):
            if self._closed:
                return
            if self._at is not None and not self.window.near(self._at, k):
                continue  # the reviewer has moved on from there
            try:
                item = self._read(k)
            except self._named as exc:  # named; the other items go on
                self._failed(str(exc))
                continue
            if item is not None:
                batch.append((k, item))
            if len(batch) >= self.window.chunk:
                self._send(batch)
                batch = []
        if batch:
            self._send(batch)

    def close(self) -> None:
        """Stop the thread (it ends after the item it is reading)."""
        self._closed = True
        self._wake.set()
