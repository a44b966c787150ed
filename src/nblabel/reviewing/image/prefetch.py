"""Instant navigation: the images around the one on screen, loaded ahead and sent as binary.

After each move, :class:`Prefetcher` loads the next images (and the previous one) in a
background thread and sends each as a ``prefetch`` message (image bytes and rows as binary
buffers); the browser decodes them in advance and swaps to the next image as soon as the key is
pressed, without waiting for the kernel. A digest of the rows each prefetch sent lets ``show``
skip sending them again when they did not change. Loaded samples are kept in a small LRU cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nblabel.core import rules
from nblabel.reviewing.image import rows as rowlib

if TYPE_CHECKING:
    from nblabel.reviewing.editor.loading import SampleState
    from nblabel.reviewing.editor.session import ReviewSession
    from nblabel.reviewing.image.assist import ExemplarAssist
    from nblabel.reviewing.image.screen import Screen

__all__ = ["Prefetcher", "digest", "image_meta"]

log = logging.getLogger(__name__)


def digest(wire: dict[str, Any], buffers: Sequence[bytes]) -> str:
    """What identifies a set of rows as sent (wire form and buffers)."""
    h = hashlib.blake2b(json.dumps(wire, sort_keys=True).encode(), digest_size=16)
    for b in buffers:
        h.update(b)
    return h.hexdigest()


def image_meta(state: SampleState) -> dict[str, Any]:
    """The image traits of a sample (what the browser needs besides bytes and boxes)."""
    img = state.image
    return {
        "filename": Path(state.filepath).name,
        "image_mime": img.mime if img else "",
        "image_width": img.size.width if img else 0,
        "image_height": img.size.height if img else 0,
        "image_preview": img.preview if img else False,
        "image_error": state.error or "",
        "draw_first": state.size is not None and rules.draws_first(
            len(state.proposals), len(state.unusable)),
    }


class Prefetcher:
    """Loads samples (cached) and sends the ones around the image on screen ahead."""

    def __init__(self, session: ReviewSession, screen: Screen,
                 send: Callable[[dict[str, Any], list[bytes]], None], *, depth: int,
                 max_preview_side: int, assist: ExemplarAssist | None,
                 ahead: Callable[[SampleState], None]) -> None:
        self.session = session
        self.screen = screen
        self._send = send
        self.depth = depth
        self.max_preview_side = max_preview_side
        self.assist = assist
        #: Called in the loader thread with each sample sent ahead (a segmenter prepares it).
        self._ahead = ahead
        self._cache: OrderedDict[str, SampleState] = OrderedDict()
        self._lock = threading.Lock()
        self.loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nblabel-prefetch")
        self._sent: set[str] = set()
        self._digests: dict[str, str] = {}

    def load(self, sample_id: str, wait: float | None = None) -> SampleState:
        """The sample from the cache, else from the database (``wait``: at most that long)."""
        with self._lock:
            state = self._cache.get(sample_id)
            if state is not None:
                self._cache.move_to_end(sample_id)
                return state
        if wait is None:
            state = self.session.load(sample_id, max_side=self.max_preview_side)
        else:
            state = self.session.load_guarded(sample_id, self.max_preview_side, wait)
        if self.assist is not None and self.assist.before_load(self.session, state):
            state = self.session.load(sample_id, max_side=self.max_preview_side)
        with self._lock:
            self._cache[sample_id] = state
            while len(self._cache) > 2 * self.depth + 4:
                self._cache.popitem(last=False)
        return state

    def replace(self, state: SampleState) -> None:
        """A newer copy of a cached sample (its proposals changed)."""
        with self._lock:
            if state.sample_id in self._cache:
                self._cache[state.sample_id] = state

    def forget(self, sample_ids: Iterable[str]) -> None:
        """Drop ``sample_ids`` from the cache and send them again when near."""
        ids = set(sample_ids)
        with self._lock:
            for sid in [s for s in self._cache if s in ids]:
                del self._cache[sid]
        self._sent.difference_update(ids)

    def reset(self) -> None:
        """A new view connected: its cache is empty."""
        self._sent.clear()

    def browser_has(self, sample_id: str, wire: dict[str, Any], buffers: Sequence[bytes]
                    ) -> bool:
        """Whether the browser holds exactly these rows of ``sample_id`` from a prefetch."""
        return self._digests.get(sample_id) == digest(wire, buffers)

    def around(self, position: int) -> None:
        """Send the next ``depth`` images and the previous one ahead, in the loader thread."""
        queue = self.session.queue
        targets = [p for p in (*range(position + 1, position + 1 + self.depth), position - 1)
                   if 0 <= p < len(queue)]
        for p in targets:
            sid = queue[p]
            if sid not in self._sent:
                self.loader.submit(self.one, p, sid)

    def payload(self, state: SampleState, position: int) -> tuple[dict[str, Any], list[bytes]]:
        """A prefetch message: image metadata, rows, the box to select first and the image
        label; the image and the rows' columns as binary buffers (and the rows' digest)."""
        rows = self.screen.rows(state)
        wire, row_buffers = rowlib.encode(rows)
        content = {"sample_id": state.sample_id, "position": position,
                   **image_meta(state), "rows": rowlib.offset(wire, 1),
                   "selected": rowlib.first_selection(rows),
                   "image_label": self.screen.image_label_row(state),
                   "digest": digest(wire, row_buffers)}
        return content, [state.image.data if state.image else b"", *row_buffers]

    def one(self, position: int, sample_id: str) -> None:
        """Load one sample and send it ahead (failures only logged: the key press loads it)."""
        try:
            state = self.load(sample_id)
            content, buffers = self.payload(state, position)
            sent_digest = content.pop("digest")
            self._send({"kind": "prefetch", **content}, buffers)
            self._sent.add(sample_id)
            self._digests[sample_id] = sent_digest
            self._ahead(state)
        except Exception as exc:  # prefetch is an optimisation
            log.debug("prefetch of %s failed: %s", sample_id, exc)

    def close(self) -> None:
        self.loader.shutdown(wait=False, cancel_futures=True)
