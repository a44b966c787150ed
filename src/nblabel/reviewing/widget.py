"""The review widget (anywidget): image with proposals overlaid, keyboard-first decisions.

State lives in traitlets so a page reload or Voila shows the same thing: the current image (as
binary ``Bytes``, never base64), its boxes with their review status, the selection, threshold and
mode. The browser keeps drag, resize, zoom and pan to itself and sends only decisions and
navigation, as custom messages; Python journals each decision and then updates ``boxes`` (a box
shows as decided only once that update arrives, i.e. once the decision is on disk).

Instant navigation: after each move Python loads the next images (and the previous one) in a
background thread and sends them ahead as binary messages; the browser decodes them in advance
and swaps to the next image as soon as the key is pressed, without waiting for the kernel.
Images larger than ``max_preview_side`` arrive as a preview; the full image is sent when the user
zooms in past the preview's resolution. The keys are listed in ``KEYS`` (press ``?``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from nblabel.core.images import ImageLoadError, load_display_image
from nblabel.core.labels import IMAGE_LABEL_KEY, Action, Box, Decision, InvalidLabelError
from nblabel.core.rules import can_finish_on_leave, visible
from nblabel.reviewing.session import ReviewSession, SampleState
from nblabel.reviewing.syncer import DatabaseUnreachable, SyncStatus
from nblabel.store.journal import JournalError

__all__ = ["KEYS", "ReviewWidget"]

log = logging.getLogger(__name__)
_STATIC = Path(__file__).parents[1] / "static"

#: The keyboard map (the browser shows the same list on ``?``).
KEYS: tuple[tuple[str, str], ...] = (
    ("Tab / j / ↓", "next proposal"),
    ("Shift+Tab / k / ↑", "previous proposal"),
    ("a / Enter", "accept the selected box"),
    ("r / x / Delete", "reject the selected box (delete a drawn one)"),
    ("Shift+A", "accept every visible proposal on the image"),
    ("1 … 9", "change the selected box's class"),
    ("b", "draw a box (drag on the image); Esc cancels"),
    ("→ / d / n", "next image"),
    ("← / p", "previous image"),
    ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo"),
    ("[ / ]", "lower / raise the confidence threshold"),
    ("+ / - / wheel", "zoom in / out"),
    ("0 / f", "fit the image"),
    ("1:1 (Shift+1)", "actual pixels"),
    ("m", "image mode / proposal mode"),
    ("c", "accept the image's proposed class"),
    ("Alt+1 … 9", "replace the image's class by the n-th proposed class"),
    ("?", "show this help"),
)


class ReviewWidget(anywidget.AnyWidget):
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
    boxes = traitlets.List(traitlets.Dict()).tag(sync=True)
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
    keys_help = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
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
        **kwargs: Any,
    ) -> None:
        super().__init__(threshold=threshold, **kwargs)
        self.session = session
        self.state: SampleState | None = None
        self.prefetch = prefetch
        self.max_preview_side = max_preview_side
        self._shown_at = time.monotonic()
        self._cache: OrderedDict[str, SampleState] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nblabel-prefetch")
        self._sent: set[str] = set()
        #: Samples this widget has shown (a new model's proposals go only to the others).
        self.seen: set[str] = set()
        self.classes = session.classes
        self.reviewer = session.reviewer
        self.total = len(session.queue)
        self.keys_help = [list(k) for k in KEYS]
        self.on_msg(self._on_message)
        self.sync_status = session.sync_status().to_dict()
        session.on_sync_status(self._sync_changed)
        if session.queue:
            first = min(max(start, 0), len(session.queue) - 1)
            self.position = -1  # nothing shown yet
            target, skipped = self._free_position(first, 1)
            self.show(target)
            if skipped:
                self.message = f"skipped {len(skipped)} image(s) ({skipped[0]})"
        else:
            self.message = "nothing to review: the queue is empty"

    def close(self) -> None:
        """Close the widget and its session (remaining decisions are synced first)."""
        self._loader.shutdown(wait=False, cancel_futures=True)
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
            self.send({"kind": "prefetch", **content}, buffers)
            self._sent.add(sample_id)
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
        }

    def _payload(self, state: SampleState, position: int) -> tuple[dict[str, Any], list[bytes]]:
        """A prefetch message: image metadata, boxes and image label; image and masks as
        binary buffers (masks referenced by index from their rows)."""
        buffers = [state.image.data if state.image else b""]
        rows = self._rows(state)
        for row in rows:
            if row["mask"] is not None:
                buffers.append(row["mask"])
                row["mask"] = len(buffers) - 1
        content = {"sample_id": state.sample_id, "position": position,
                   **self._image_meta(state), "boxes": rows,
                   "image_label": self._image_label_row(state)}
        return content, buffers

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
        holder = self.session.team.claim(sid)
        self.state = state
        self.seen.add(sid)
        self._shown_at = time.monotonic()
        data = state.image.data if state.image else b""
        with self.hold_sync():
            self.position = position
            self.sample_id = sid
            if browser_has == sid and hasattr(self, "_lock_property"):
                with self._lock_property(image=data):
                    self.image = data
            else:
                self.image = data
            for name, value in self._image_meta(state).items():
                setattr(self, name, value)
            self.boxes = self._rows(state)  # with masks as bytes (sent as binary buffers)
            self.image_label = self._image_label_row(state)
            self.selected = self._first_pending()
            self.reviewed = self.session.reviewed_count()
            self.reference = self._reference_rows(state)
            notes = [f"{holder} is reviewing this image too"] if holder else []
            notes += self._patch_notes(state)
            self.message = "; ".join(notes)
        self._prefetch_around(position)

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
            rows.append({"label": label, "box": _rounded(box), "kind": "missed"})
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
        target, skipped = self._free_position(self.position + delta, 1 if delta >= 0 else -1)
        self.goto(target, delta, browser_has)
        if skipped:
            self.message = f"skipped {len(skipped)} image(s) ({skipped[0]})"

    def _free_position(self, start: int, step: int) -> tuple[int, list[str]]:
        """The first position from ``start`` (in direction ``step``, 50 at most) that no other
        reviewer holds or finished, claimed for this reviewer; and why the others were
        skipped. Stays put when none is free."""
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
                return p, skipped
            skipped.append(why)
        return (self.position if window and self.state is not None else start), skipped

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
        state = self._current()
        d = self.session.decide(state, key, action, seconds_on_image=self._seconds(seconds),
                                label=label, box=box)
        self._refresh()
        return d

    def add(self, label: str, box: Box, seconds: float | None = None) -> Decision:
        """Add a box the model missed on the current image."""
        d = self.session.add(self._current(), label, box, seconds_on_image=self._seconds(seconds))
        self._refresh(select=d.key)
        return d

    def accept_all(self, seconds: float | None = None) -> list[Decision]:
        """Accept every undecided proposal at or above the threshold on the current image."""
        ds = self.session.accept_all(self._current(), self.threshold,
                                     seconds_on_image=self._seconds(seconds))
        self._refresh()
        return ds

    def undo(self) -> None:
        self._after_history(self.session.undo(), "nothing to undo")

    def redo(self) -> None:
        self._after_history(self.session.redo(), "nothing to redo")

    def _after_history(self, changed: list[Decision], empty: str) -> None:
        if not changed:
            self.message = empty
            return
        sid = changed[0].sample_id
        if sid != self.sample_id and sid in self.session.queue:
            self.show(self.session.queue.index(sid))  # undo brings back the image it changed
        else:
            self._refresh(select=changed[0].key)

    def _current(self) -> SampleState:
        if self.state is None:
            raise InvalidLabelError("no image is shown")
        return self.state

    def _seconds(self, seconds: float | None) -> float:
        return self.seconds_on_image() if seconds is None else max(0.0, float(seconds))

    def _refresh(self, select: str | None = None) -> None:
        with self.hold_sync():
            self.boxes = self._rows(self._current())
            self.image_label = self._image_label_row(self._current())
            if select is not None:
                self.selected = select
            elif not any(b["key"] == self.selected for b in self.boxes):
                self.selected = self._first_pending()
            self.reviewed = self.session.reviewed_count()
            self.message = ""

    def _rows(self, state: SampleState) -> list[dict[str, Any]]:
        decided = self.session.decisions(state.sample_id)
        focus = self.session.focus.get(state.sample_id, set())
        rows = []
        for p in state.proposals:
            d = decided.get(p.id)
            box = d.box if d is not None and d.box is not None else p.box
            rows.append({
                "key": p.id,
                "proposal_id": p.id,
                "label": d.label if d is not None and d.label else p.label,
                "box": _rounded(box),
                "original_box": _rounded(p.box),
                "original_label": p.label,
                "confidence": p.confidence,
                "status": d.action.value if d is not None else "pending",
                "mask": p.mask,
                "focus": p.id in focus,
            })
        for u in state.unusable:  # shown in the list with their reason; rejecting is allowed
            d = decided.get(u.id)
            rows.append({
                "key": u.id, "proposal_id": u.id, "label": u.label or "(unusable)",
                "box": [0.0, 0.0, 0.0, 0.0], "original_box": None, "original_label": u.label,
                "confidence": None, "status": d.action.value if d is not None else "pending",
                "mask": None, "focus": False, "unusable": u.reason,
            })
        for d in decided.values():
            if d.kind == "box" and d.action is Action.ADDED and d.box is not None:
                rows.append({
                    "key": d.key, "proposal_id": None, "label": d.label,
                    "box": _rounded(d.box), "original_box": None, "original_label": None,
                    "confidence": None, "status": "added", "mask": None,
                })
        return rows

    def _image_label_row(self, state: SampleState) -> dict[str, Any]:
        """The image-level proposal (classification) and its decision, for the panel."""
        d = self.session.decisions(state.sample_id).get(IMAGE_LABEL_KEY)
        p = state.image_label
        if p is None and d is None:
            return {}
        top: list[list[Any]] = []
        if p is not None:
            scores = dict(p.scores or {p.label: p.confidence or 0.0})
            top = [[k, v] for k, v in sorted(scores.items(), key=lambda kv: -kv[1])[:5]]
        return {
            "label": p.label if p is not None else None,
            "confidence": p.confidence if p is not None else None,
            "top": top,
            "status": d.action.value if d is not None else "pending",
            "final": d.label if d is not None else None,
        }

    def classify(self, action: Action | str, label: str | None = None,
                 seconds: float | None = None) -> Decision:
        """Accept, replace or reject the current image's class."""
        d = self.session.classify(self._current(), action, label,
                                  seconds_on_image=self._seconds(seconds))
        self._refresh()
        return d

    def _first_pending(self) -> str:
        for row in self.boxes:  # patches: the boxes the patches point at come first
            if row.get("focus"):
                return str(row["key"])
        for row in self.boxes:
            if row["status"] == "pending" and visible(row["confidence"], self.threshold):
                return str(row["key"])
        return str(self.boxes[0]["key"]) if self.boxes else ""

    # -- messages from the browser -----------------------------------------------------------

    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: list[Any]) -> None:
        kind = content.get("kind")
        try:
            if kind == "hello":  # a new view (first render or page reload): its cache is empty
                self._sent.clear()
                self._prefetch_around(self.position)
            elif kind == "go":
                have = content.get("have")
                self.go(int(content.get("delta", 1)), str(have) if have else None)
            elif kind == "goto":
                self._complete_if_done()
                self.goto(int(content["position"]))
            elif kind == "undo":
                self.undo()
            elif kind == "redo":
                self.redo()
            elif kind == "full_res":
                self._send_full_res(str(content.get("sample_id")))
            elif content.get("sample_id") != self.sample_id:
                return  # an edit for an image that is no longer shown
            elif kind == "decide":
                box = content.get("box")
                self.decide(str(content["key"]), str(content["action"]), content.get("seconds"),
                            label=content.get("label"), box=Box(*box) if box else None)
            elif kind == "classify":
                self.classify(str(content["action"]), content.get("label"),
                              content.get("seconds"))
            elif kind == "add":
                self.add(str(content["label"]), Box(*content["box"]), content.get("seconds"))
            elif kind == "accept_all":
                if content.get("threshold") is not None:  # what the user saw when pressing
                    self.threshold = float(content["threshold"])
                self.accept_all(content.get("seconds"))
        except (InvalidLabelError, KeyError, ValueError, TypeError, JournalError) as exc:
            self.message = f"not saved: {exc}"

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


def _rounded(box: Box) -> list[float]:
    return [round(v, 2) for v in box.as_list()]
