"""The review widget (anywidget): image with proposals overlaid, keyboard-first decisions.

State lives in traitlets so a page reload or Voila shows the same thing: the current image (as
binary ``Bytes``, never base64), the selection, threshold and mode. The boxes go as rows
(``nblabel.reviewing.rows``: column by column, binary) in custom messages: all of an image's rows
when it is shown or a view (re)connects, then only the rows a decision changed. The browser keeps
drag, resize, zoom and pan to itself and sends only decisions and navigation; Python journals
each decision and then answers with the rows it changed and the box to select next (a box shows
as decided only once that answer arrives, i.e. once the decision is on disk). Messages from the
browser are dispatched through one table (``_HANDLERS``); their kinds and the traits are declared
once in ``js/src/types.ts``.

Instant navigation: after each move Python loads the next images (and the previous one) in a
background thread and sends them ahead as binary messages; the browser decodes them in advance
and swaps to the next image as soon as the key is pressed, without waiting for the kernel.
Images larger than ``max_preview_side`` arrive as a preview; the full image is sent when the user
zooms in past the preview's resolution. The keys are listed in ``KEYS`` (press ``?``), read from
the keymap the browser uses.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from nblabel.core import rules
from nblabel.core.images import ImageLoadError, load_display_image, load_rgb
from nblabel.core.labels import IMAGE_LABEL_KEY, Action, Box, Decision, InvalidLabelError
from nblabel.core.rules import can_finish_on_leave, visible
from nblabel.reviewing import rows as rowlib
from nblabel.reviewing.assist import ExemplarAssist
from nblabel.reviewing.keys import help_rows
from nblabel.reviewing.masking import MaskEditing
from nblabel.reviewing.session import ReviewSession, SampleState
from nblabel.reviewing.syncer import DatabaseUnreachable, SyncStatus
from nblabel.segmentation.base import Segmenter
from nblabel.store.journal import JournalError

__all__ = ["KEYS", "ReviewWidget"]

log = logging.getLogger(__name__)
_STATIC = Path(__file__).parents[1] / "static"

#: The keys and what they do (the browser shows the same list on ``?``).
KEYS: tuple[tuple[str, str], ...] = help_rows()


class ReviewWidget(MaskEditing, anywidget.AnyWidget):
    """Review a :class:`~nblabel.reviewing.session.ReviewSession` image by image."""

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    image = traitlets.Bytes(b"").tag(sync=True)
    image_mime = traitlets.Unicode("").tag(sync=True)
    image_width = traitlets.Int(0).tag(sync=True)
    image_height = traitlets.Int(0).tag(sync=True)
    image_preview = traitlets.Bool(False).tag(sync=True)
    image_error = traitlets.Unicode("").tag(sync=True)
    sample_id = traitlets.Unicode("").tag(sync=True)
    filename = traitlets.Unicode("").tag(sync=True)
    image_label = traitlets.Dict().tag(sync=True)
    classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    threshold = traitlets.Float(0.0, min=0.0, max=1.0).tag(sync=True)
    mode = traitlets.Unicode("image").tag(sync=True)
    position = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    reviewed = traitlets.Int(0).tag(sync=True)
    reviewer = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    #: Truth boxes shown for reference only (not decidable): objects the model missed, when
    #: reviewing evaluation patches. ``[{"label", "box", "kind"}]`` in image pixels.
    reference = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Lasting news (e.g. "model round 2 ready"), unlike ``message`` which each image resets.
    notice = traitlets.Unicode("").tag(sync=True)
    #: Nothing is proposed on the image: a drag draws (Python's rule, ``rules.draws_first``).
    draw_first = traitlets.Bool(False).tag(sync=True)
    #: Where the sync to FiftyOne stands: ``{"state", "waiting", "message"}`` (see
    #: :class:`~nblabel.reviewing.syncer.SyncStatus`); the browser shows the message.
    sync_status = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        session: ReviewSession,
        start: int = 0,
        *,
        threshold: float = 0.0,
        prefetch: int = 3,
        max_preview_side: int = 2560,
        assist: ExemplarAssist | bool = True,
        segmenter: Segmenter | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(threshold=threshold, **kwargs)
        self.session = session
        #: Exemplar proposals while labeling from scratch (see :mod:`nblabel.reviewing.assist`).
        self.assist: ExemplarAssist | None = (ExemplarAssist() if assist is True else
                                              assist or None)
        #: Guards the rows on screen against the assistant's thread.
        self._screen = threading.RLock()
        #: Click to mask (key ``s``): GrabCut unless a segmenter is given (e.g. a
        #: :class:`~nblabel.segmentation.SAMSegmenter` when its weights are at hand).
        self._segmenter = segmenter
        #: The mask the last prompt made and not yet accepted: (sample id, box, PNG).
        self._draft: tuple[str, Box, bytes] | None = None
        self._full_image: tuple[str, Any] | None = None  # the image segmented on, full size
        self._segmented = False  # click to mask used: prepare the next images ahead
        self.state: SampleState | None = None
        #: Why the image on screen is not this reviewer's to review (another reviewer holds or
        #: finished it), or None when it is.
        self.taken: str | None = None
        self.prefetch = prefetch
        self.max_preview_side = max_preview_side
        self._shown_at = time.monotonic()
        self._cache: OrderedDict[str, SampleState] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nblabel-prefetch")
        self._sent: set[str] = set()
        #: Reading order of each cached sample's proposals (sorting 10,000 boxes once).
        self._orders: dict[str, list[int]] = {}
        #: The rows the browser holds for the image on screen (what decisions are diffed on).
        self._rows_now: list[dict[str, Any]] = []
        #: A digest of the rows each prefetch sent: shown again unchanged, they are not resent.
        self._prefetched: dict[str, str] = {}
        #: Samples this widget has shown (a new model's proposals go only to the others).
        self.seen: set[str] = set()
        self.classes = session.classes
        self.reviewer = session.reviewer
        self.total = len(session.queue)
        self.on_msg(self._on_message)
        self.sync_status = session.sync_status().to_dict()
        session.on_sync_status(self._sync_changed)
        if session.queue:
            first = min(max(start, 0), len(session.queue) - 1)
            self.position = -1  # nothing shown yet
            target, skipped, free = self._free_position(first, 1)
            self.show(target)
            if not free:
                # Every image ahead is held or finished by another reviewer: show the first
                # one, but say it is not this reviewer's to review.
                self.taken = skipped[0] if skipped else "taken"
                self.message = (f"no image left for you: the next {len(skipped)} are held or "
                                f"finished by other reviewers ({skipped[0]})")
            elif skipped:
                self.message = f"skipped {len(skipped)} image(s) ({skipped[0]})"
            hint = session.field_hint()
            if hint:
                self.message = "; ".join(m for m in (self.message, hint) if m)
        else:
            self.message = "nothing to review: the queue is empty"

    def close(self) -> None:
        """Close the widget and its session (remaining decisions are synced first). Closing
        twice (ipywidgets closes again when the object is collected) does nothing more."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        self._loader.shutdown(wait=False, cancel_futures=True)
        if self.assist is not None:
            self.assist.close()
        if self.state is not None:
            self.session.team.release(self.state.sample_id)
        self.session.close()
        super().close()

    def _sync_changed(self, status: SyncStatus) -> None:
        self.sync_status = status.to_dict()

    # -- loading -----------------------------------------------------------------------------

    def _load(self, sample_id: str, wait: float | None = None) -> SampleState:
        """The sample from the cache, else from the database (``wait``: at most that long)."""
        with self._cache_lock:
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
        with self._cache_lock:
            self._cache[sample_id] = state
            while len(self._cache) > 2 * self.prefetch + 4:
                self._cache.popitem(last=False)
        return state

    def _prefetch_around(self, position: int) -> None:
        queue = self.session.queue
        targets = [p for p in (*range(position + 1, position + 1 + self.prefetch), position - 1)
                   if 0 <= p < len(queue)]
        for p in targets:
            sid = queue[p]
            if sid not in self._sent:
                self._loader.submit(self._prefetch_one, p, sid)

    def _prefetch_one(self, position: int, sample_id: str) -> None:
        try:
            state = self._load(sample_id)
            content, buffers = self._payload(state, position)
            digest = content.pop("digest")
            self.send({"kind": "prefetch", **content}, buffers)
            self._sent.add(sample_id)
            self._prefetched[sample_id] = digest
            if (self._segmented and state.image is not None
                    and getattr(self.segmenter, "prepares_ahead", True)):
                # Click to mask is in use: the segmenter's per-image work (a SAM encoder) is
                # done ahead for the next images, off the kernel's thread.
                self.segmenter.prepare(load_rgb(state.filepath), key=sample_id)
        except Exception as exc:  # prefetch is an optimisation: the key press loads it anyway
            log.debug("prefetch of %s failed: %s", sample_id, exc)

    @staticmethod
    def _image_meta(state: SampleState) -> dict[str, Any]:
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

    def _payload(self, state: SampleState, position: int) -> tuple[dict[str, Any], list[bytes]]:
        """A prefetch message: image metadata, rows, the box to select first and the image label;
        the image and the rows' columns as binary buffers."""
        rows = self._rows(state)
        wire, row_buffers = rowlib.encode(rows)
        content = {"sample_id": state.sample_id, "position": position,
                   **self._image_meta(state), "rows": rowlib.offset(wire, 1),
                   "selected": rowlib.first_selection(rows),
                   "image_label": self._image_label_row(state),
                   "digest": _digest(wire, row_buffers)}
        return content, [state.image.data if state.image else b"", *row_buffers]

    # -- navigation --------------------------------------------------------------------------

    def show(self, position: int, browser_has: str | None = None) -> None:
        """Show the sample at ``position`` in the queue.

        ``browser_has``: the sample id whose image the browser already shows (from prefetch);
        then the ``image`` trait changes in the kernel without sending the bytes again (a page
        reload still gets them, from the kernel's state).
        """
        sid = self.session.queue[position]
        try:
            state = self._load(sid, wait=5.0)
        except DatabaseUnreachable as exc:
            status = self.session.sync_status()
            self.message = (f"{exc}: cannot open image {position + 1} yet. "
                            f"{status.waiting} decision(s) wait in the journal (saved on disk)")
            return
        previous = self.state.sample_id if self.state is not None else None
        if previous is not None and previous != sid:
            self.session.team.release(previous)
            if self.assist is not None and self.state is not None:
                self.assist.left(self.session, self.state, self._assist_learned)
        holder = self.session.team.claim(sid)
        self.taken = f"{holder} is reviewing it" if holder else None
        self.state = state
        self.seen.add(sid)
        self._shown_at = time.monotonic()
        data = state.image.data if state.image else b""
        rows = self._rows(state)
        selected = rowlib.first_selection(rows)
        with self.hold_sync():
            # The rows go first (the traits are held until the block ends), so the browser has
            # them when the new sample id arrives; not at all when it already shows them.
            wire, buffers = rowlib.encode(rows)
            if browser_has == sid and self._prefetched.get(sid) == _digest(wire, buffers):
                self._rows_now = list(rows)
            else:
                self._send_rows(rows, full=True, selected=selected)
            self.position = position
            self.sample_id = sid
            if browser_has == sid:
                self._set_quietly("image", data)
            else:
                self.image = data
            for name, value in self._image_meta(state).items():
                setattr(self, name, value)
            self.image_label = self._image_label_row(state)
            self.selected = selected
            self.reviewed = self.session.reviewed_count()
            self.reference = self._reference_rows(state)
            notes = [f"{holder} is reviewing this image too"] if holder else []
            notes += self._patch_notes(state)
            self.message = "; ".join(notes)
        self._prefetch_around(position)

    @property
    def boxes(self) -> list[dict[str, Any]]:
        """The rows of the image on screen, as the browser shows them (reading order)."""
        return [dict(r) for r in self._rows_now]

    def _send_rows(self, rows: Sequence[dict[str, Any]], *, full: bool,
                   removed: Sequence[str] = (), selected: str | None = None,
                   seq: int | None = None) -> None:
        """Send rows of the image on screen: all of them (``full``), or those that changed."""
        if self.state is None:
            return
        if full:
            self._rows_now = list(rows)
        wire, buffers = rowlib.encode(rows)
        self.send({"kind": "rows", "sample_id": self.state.sample_id, "full": full,
                   "rows": wire, "removed": list(removed), "selected": selected, "seq": seq},
                  buffers)

    def _set_quietly(self, name: str, value: Any) -> None:
        """Set a trait in the kernel without sending it: the browser already has the value (a
        page reload still gets it from the kernel's state). ipywidgets' ``_lock_property`` is
        the one private widget call; without it the value is simply sent."""
        lock = getattr(self, "_lock_property", None)
        if lock is None:
            setattr(self, name, value)
            return
        with lock(**{name: value}):
            setattr(self, name, value)

    @traitlets.observe("threshold")
    def _threshold_changed(self, change: dict[str, Any]) -> None:
        """Visibility is Python's rule: send the rows again at the new threshold."""
        state: SampleState | None = getattr(self, "state", None)
        if state is None or not getattr(self, "_rows_now", None):
            return
        self._send_rows(self._rows(state), full=True)

    def proposals_updated(self, sample_ids: Iterable[str], note: str = "") -> None:
        """New proposals were written for ``sample_ids`` (e.g. by a fine-tuned model): images
        not on screen show them when reached; the image on screen keeps what it shows."""
        ids = set(sample_ids) - {self.sample_id}
        with self._cache_lock:
            for sid in [s for s in self._cache if s in ids]:
                del self._cache[sid]
        self._sent.difference_update(ids)
        if note:
            self.notice = note
        self._prefetch_around(self.position)

    def _reference_rows(self, state: SampleState) -> list[dict[str, Any]]:
        if state.size is None:
            return []
        rows = []
        for label, rel in self.session.missed.get(state.sample_id, []):
            try:
                box = Box.from_relative(rel, state.size)
            except InvalidLabelError:
                continue
            rows.append({"label": label, "box": rowlib.rounded_box(box), "kind": "missed"})
        return rows

    def _patch_notes(self, state: SampleState) -> list[str]:
        focus = self.session.focus.get(state.sample_id, set())
        missed = len(self.session.missed.get(state.sample_id, []))
        notes = []
        if focus:
            notes.append(f"{len(focus)} false positive(s) to check (outlined)")
        if missed:
            notes.append(f"{missed} missed object(s) shown dashed")
        for u in state.unusable:
            notes.append(f"{u} (select it and reject it)")
        return notes

    def go(self, delta: int, browser_has: str | None = None) -> None:
        """Move ``delta`` images along the queue (marking a finished image complete).

        In team review, images another reviewer is on or has finished are skipped (and said
        so); going to a position shows any image.
        """
        self._complete_if_done()
        target, skipped, _ = self._free_position(self.position + delta,
                                                 1 if delta >= 0 else -1)
        self.goto(target, delta, browser_has)
        if skipped:
            self.message = f"skipped {len(skipped)} image(s) ({skipped[0]})"

    def _free_position(self, start: int, step: int) -> tuple[int, list[str], bool]:
        """The first position from ``start`` (in direction ``step``, 50 at most) that no other
        reviewer holds or finished, claimed for this reviewer; why the others were skipped;
        whether one was free (when none is, stays put, or ``start`` before anything is shown)."""
        window = list(range(start, -1 if step < 0 else self.total, step))[:50]
        taken = self.session.team.taken_by_others([self.session.queue[p] for p in window])
        skipped: list[str] = []
        for p in window:
            sid = self.session.queue[p]
            why = taken.get(sid)
            if why is None and p != self.position:
                # Claim it now, atomically: two reviewers moving on at once cannot both get it,
                # nor one get an image another finished since the look above.
                why = self.session.team.take(sid)
            if why is None:
                return p, skipped, True
            skipped.append(why)
        return (self.position if window and self.state is not None else start), skipped, False

    def goto(self, position: int, direction: int = 1, browser_has: str | None = None) -> None:
        if not self.total:
            self.message = "nothing to review: the queue is empty"
            return
        target = min(max(position, 0), self.total - 1)
        if target != self.position or self.state is None:
            self.show(target, browser_has)
        else:
            self.reviewed = self.session.reviewed_count()
            self.message = "last image" if direction > 0 else "first image"

    def _complete_if_done(self) -> None:
        """Moving past an image whose shown proposals are all decided finishes it: proposals
        hidden below the threshold stay undecided (not objects, for the ground truth)."""
        state = self.state
        if state is None or state.size is None or self.session.progress.counted(state.sample_id):
            return
        decided = self.session.decisions(state.sample_id)
        shown = [p.id for p in state.proposals if visible(p.confidence, self.threshold)]
        shown += [u.id for u in state.unusable]
        decided_ids = {d.proposal.id for d in decided.values() if d.proposal is not None}
        if not can_finish_on_leave(shown, decided_ids,
                                   has_image_label=state.image_label is not None,
                                   image_decided=IMAGE_LABEL_KEY in decided):
            return
        self.session.complete(state.sample_id, self.seconds_on_image())

    def seconds_on_image(self) -> float:
        return time.monotonic() - self._shown_at

    # -- decisions ---------------------------------------------------------------------------

    def decide(self, key: str, action: Action | str, seconds: float | None = None, *,
               label: str | None = None, box: Box | None = None) -> Decision:
        """Decide on a box of the current image (what the keys and mouse call)."""
        return self.decide_many([key], action, seconds, label=label, box=box)[0]

    def decide_many(self, keys: Sequence[str], action: Action | str,
                    seconds: float | None = None, *, label: str | None = None,
                    box: Box | None = None, seq: int | None = None) -> list[Decision]:
        """Decide on several boxes of the current image at once (a multi-selection in the
        browser): one journal transaction, one undo step. After an accept or a reject the
        selection moves to the next pending box in reading order; an edit keeps it."""
        ds = self.session.decide_many(self._current(), keys, action,
                                      seconds_on_image=self._seconds(seconds), label=label,
                                      box=box)
        select = None if Action(action) is Action.EDITED else "next"
        self._changed(ds, select=select, seq=seq)
        return ds

    def add(self, label: str, box: Box, seconds: float | None = None,
            seq: int | None = None) -> Decision:
        """Add a box the model missed on the current image."""
        state = self._current()
        d = self.session.add(state, label, box, seconds_on_image=self._seconds(seconds))
        self._changed([d], select=d.key, seq=seq)
        if self.assist is not None:
            self.assist.after_decision(self.session, state,
                                       lambda n: self._assisted(state.sample_id, n))
        return d

    def add_class(self, name: str, seq: int | None = None) -> None:
        """Add a class to choose from (the reviewer typed it in the widget)."""
        name = str(name).strip()
        if not name or len(name) > 64 or any(c in name for c in "\n\t"):
            self.message = f"a class name must be 1 to 64 characters on one line, not {name!r}"
        elif name in self.session.classes:
            self.message = f"class {name!r} is already there"
        else:
            self.session.classes.append(name)
            self.classes = list(self.session.classes)
            self.message = f"class {name!r} added"
        self._ack(seq)

    def _assist_learned(self) -> None:
        """The assistant learned from a reviewed image: the images ahead not shown yet are
        proposed on again when loaded (the prefetch does it now)."""
        ahead = [s for s in self.session.queue[self.position + 1:] if s not in self.seen]
        self.proposals_updated(ahead[:max(self.prefetch, 1) + 1])

    def _assisted(self, sample_id: str, n: int) -> None:
        """The exemplar assistant wrote proposals for ``sample_id``: show them if on screen."""
        if n < 0:
            self.notice = (self.assist.error if self.assist else None) or "exemplars failed"
            return
        state = self.session.load(sample_id, max_side=self.max_preview_side)
        with self._cache_lock:
            if sample_id in self._cache:
                self._cache[sample_id] = state
        with self._screen:
            if self.state is None or self.state.sample_id != sample_id:
                return
            self.state = state
            rows = self._rows(state)
            keep = self.selected if any(r["key"] == self.selected for r in rows) else None
            self._send_rows(rows, full=True, selected=keep)
        self.notice = (f"{n} similar object(s) proposed from "
                       f"{len(self.assist.source.exemplars) if self.assist else 0} exemplar(s)")

    def accept_all(self, seconds: float | None = None, seq: int | None = None) -> list[Decision]:
        """Accept every undecided proposal at or above the threshold on the current image."""
        ds = self.session.accept_all(self._current(), self.threshold,
                                     seconds_on_image=self._seconds(seconds))
        self._changed(ds, select="next", seq=seq)
        return ds

    def undo(self, seq: int | None = None) -> None:
        self._after_history(self.session.undo(), "nothing to undo", seq)

    def redo(self, seq: int | None = None) -> None:
        self._after_history(self.session.redo(), "nothing to redo", seq)

    def _after_history(self, changed: list[Decision], empty: str, seq: int | None) -> None:
        if not changed:
            self.message = empty
            self._ack(seq)
            return
        sid = changed[0].sample_id
        if sid != self.sample_id and sid in self.session.queue:
            self.show(self.session.queue.index(sid))  # undo brings back the image it changed
            self._ack(seq)
        else:
            self._changed(changed, select=changed[0].key, seq=seq)

    def _ack(self, seq: int | None) -> None:
        """Answer a message that changed no row (the browser waits for each answer)."""
        if seq is not None:
            self._send_rows([], full=False, seq=seq)

    def _current(self) -> SampleState:
        if self.state is None:
            raise InvalidLabelError("no image is shown")
        return self.state

    def _seconds(self, seconds: float | None) -> float:
        return self.seconds_on_image() if seconds is None else max(0.0, float(seconds))

    def _changed(self, decisions: Sequence[Decision], *, select: str | None,
                 seq: int | None) -> None:
        """Send the rows ``decisions`` changed (and those they removed: deleted drawn boxes),
        with the box to select next ("next": the next pending one after the last decided)."""
        with self._screen:
            self._changed_locked(decisions, select=select, seq=seq)

    def _changed_locked(self, decisions: Sequence[Decision], *, select: str | None,
                        seq: int | None) -> None:
        state = self._current()
        decided = self.session.decisions(state.sample_id)
        proposals = {p.id: p for p in state.proposals}
        focus = self.session.focus.get(state.sample_id, set())
        index = {r["key"]: i for i, r in enumerate(self._rows_now)}
        changed: list[dict[str, Any]] = []
        removed: list[str] = []
        for key in dict.fromkeys(d.key for d in decisions if d.sample_id == state.sample_id):
            if key == IMAGE_LABEL_KEY:
                continue
            d = decided.get(key)
            p = proposals.get(key)
            if p is not None:
                row = rowlib.proposal_row(p, d, self.threshold, key in focus)
            elif d is not None and d.action is Action.ADDED:
                row = rowlib.added_row(d)
            elif key in index and self._rows_now[index[key]]["unusable"]:
                row = {**self._rows_now[index[key]],
                       "status": d.action.value if d is not None else "pending"}
            else:
                if key in index:
                    removed.append(key)
                continue
            changed.append(row)
            if key in index:
                self._rows_now[index[key]] = row
            else:
                index[key] = len(self._rows_now)
                self._rows_now.append(row)
        if removed:
            gone = set(removed)
            self._rows_now = [r for r in self._rows_now if r["key"] not in gone]
            index = {r["key"]: i for i, r in enumerate(self._rows_now)}
        if select == "next":  # after the decided box that comes last in reading order
            done = [r["key"] for r in changed if r["key"] in index]
            last = max(done, key=index.__getitem__) if done else self.selected
            select = rowlib.next_pending(self._rows_now, str(last))
        elif select is None and not any(r["key"] == self.selected for r in self._rows_now):
            select = rowlib.first_selection(self._rows_now)
        self._send_rows(changed, full=False, removed=removed, selected=select, seq=seq)
        with self.hold_sync():
            if select is not None and select != self.selected:
                self._set_quietly("selected", select)  # the browser took it from the rows
            self.image_label = self._image_label_row(state)
            self.reviewed = self.session.reviewed_count()
            self.message = ""

    def _rows(self, state: SampleState) -> list[dict[str, Any]]:
        order = self._orders.get(state.sample_id)
        if order is None or len(order) != len(state.proposals):
            order = rowlib.reading_order([p.box.as_list() for p in state.proposals])
            self._orders[state.sample_id] = order
            if len(self._orders) > 4 * self.prefetch + 8:
                self._orders.pop(next(iter(self._orders)))
        return rowlib.build_rows(state, self.session.decisions(state.sample_id), self.threshold,
                                 self.session.focus.get(state.sample_id, set()), order)

    def _image_label_row(self, state: SampleState) -> dict[str, Any]:
        """The image-level proposal (classification) and its decision, for the panel."""
        d = self.session.decisions(state.sample_id).get(IMAGE_LABEL_KEY)
        p = state.image_label
        choices = self.session.image_classes
        if p is None and d is None and not choices:
            return {}
        top: list[list[Any]] = []
        if p is not None:
            scores = dict(p.scores or {p.label: p.confidence or 0.0})
            top = [[k, v] for k, v in sorted(scores.items(), key=lambda kv: -kv[1])[:5]]
        else:  # labeling from scratch: the classes to choose from, no scores
            top = [[c, None] for c in choices[:9]]
        return {
            "label": p.label if p is not None else None,
            "confidence": p.confidence if p is not None else None,
            "top": top,
            "status": d.action.value if d is not None else "pending",
            "final": d.label if d is not None else None,
        }

    def classify(self, action: Action | str, label: str | None = None,
                 seconds: float | None = None, seq: int | None = None) -> Decision:
        """Accept, replace or reject the current image's class."""
        d = self.session.classify(self._current(), action, label,
                                  seconds_on_image=self._seconds(seconds))
        self._changed([d], select=None, seq=seq)
        return d

    # -- messages from the browser -----------------------------------------------------------

    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: list[Any]) -> None:
        """Dispatch a message from the browser through ``_HANDLERS``; a message that carries a
        sequence number is always answered (with the rows it changed, or none)."""
        kind = str(content.get("kind"))
        handler = _HANDLERS.get(kind)
        seq = content.get("seq")
        seq = int(seq) if isinstance(seq, int | float) else None
        if handler is None:
            self.message = f"not understood: a message of kind {kind!r}"
            self._ack(seq)
            return
        try:
            if kind in _ON_SHOWN_SAMPLE and content.get("sample_id") != self.sample_id:
                self._ack(seq)  # for an image that is no longer shown
                return
            handler(self, content, seq)
        except (InvalidLabelError, KeyError, ValueError, TypeError, JournalError) as exc:
            self.message = f"not saved: {exc}"
            self._ack(seq)

    def _on_hello(self, content: dict[str, Any], seq: int | None) -> None:
        # A new view (first render or page reload): its cache is empty, it has no rows.
        self._sent.clear()
        if self.state is not None:
            self._send_rows(self._rows(self.state), full=True, selected=self.selected or None)
        self._prefetch_around(self.position)

    def _on_go(self, content: dict[str, Any], seq: int | None) -> None:
        have = content.get("have")
        self.go(int(content.get("delta", 1)), str(have) if have else None)

    def _on_goto(self, content: dict[str, Any], seq: int | None) -> None:
        self._complete_if_done()
        self.goto(int(content["position"]))

    def _on_decide(self, content: dict[str, Any], seq: int | None) -> None:
        box = content.get("box")
        keys = content.get("keys")
        if not isinstance(keys, list) or not keys:
            raise ValueError(f"a decision names no box: keys={keys!r}")
        self.decide_many([str(k) for k in keys], str(content["action"]), content.get("seconds"),
                         label=content.get("label"), box=Box(*box) if box else None, seq=seq)

    def _on_add(self, content: dict[str, Any], seq: int | None) -> None:
        self.add(str(content["label"]), Box(*content["box"]), content.get("seconds"), seq=seq)

    def _on_accept_all(self, content: dict[str, Any], seq: int | None) -> None:
        if content.get("threshold") is not None:  # what the user saw when pressing
            self.threshold = float(content["threshold"])
        self.accept_all(content.get("seconds"), seq=seq)

    def _on_add_class(self, content: dict[str, Any], seq: int | None) -> None:
        self.add_class(str(content.get("name", "")), seq)

    def _on_classify(self, content: dict[str, Any], seq: int | None) -> None:
        self.classify(str(content["action"]), content.get("label"), content.get("seconds"),
                      seq=seq)

    def _on_undo(self, content: dict[str, Any], seq: int | None) -> None:
        self.undo(seq)

    def _on_redo(self, content: dict[str, Any], seq: int | None) -> None:
        self.redo(seq)

    def _on_full_res(self, content: dict[str, Any], seq: int | None) -> None:
        self._send_full_res(str(content.get("sample_id")))

    def _send_full_res(self, sample_id: str) -> None:
        if self.state is None or sample_id != self.state.sample_id:
            return
        try:
            full = load_display_image(self.state.filepath)
        except ImageLoadError as exc:
            self.message = str(exc)
            return
        self.send({"kind": "full_res", "sample_id": sample_id, "image_mime": full.mime},
                  [full.data])


def _digest(wire: dict[str, Any], buffers: Sequence[bytes]) -> str:
    """What identifies a set of rows as sent (wire form and buffers)."""
    h = hashlib.blake2b(json.dumps(wire, sort_keys=True).encode(), digest_size=16)
    for b in buffers:
        h.update(b)
    return h.hexdigest()


#: Every message kind the browser sends (``ToPython`` in js/src/types.ts) and its handler.
_HANDLERS: dict[str, Callable[[ReviewWidget, dict[str, Any], int | None], None]] = {
    "hello": ReviewWidget._on_hello,
    "go": ReviewWidget._on_go,
    "goto": ReviewWidget._on_goto,
    "decide": ReviewWidget._on_decide,
    "add": ReviewWidget._on_add,
    "accept_all": ReviewWidget._on_accept_all,
    "classify": ReviewWidget._on_classify,
    "add_class": ReviewWidget._on_add_class,
    "undo": ReviewWidget._on_undo,
    "redo": ReviewWidget._on_redo,
    "full_res": ReviewWidget._on_full_res,
    "segment": ReviewWidget._on_segment,
    "accept_mask": ReviewWidget._on_accept_mask,
    "paint": ReviewWidget._on_paint,
    "polygon": ReviewWidget._on_polygon,
    "set_polygon": ReviewWidget._on_set_polygon,
}
#: Kinds that act on the image on screen: ignored (but answered) when it has changed since.
_ON_SHOWN_SAMPLE = frozenset({"decide", "add", "accept_all", "classify", "segment",
                              "accept_mask", "paint", "polygon", "set_polygon"})
#: Every message kind Python sends (``FromPython`` in js/src/types.ts).
SENT_KINDS = ("prefetch", "rows", "full_res", "mask", "polygon")
