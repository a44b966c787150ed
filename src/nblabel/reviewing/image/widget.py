"""The review widget (anywidget): image with proposals overlaid, keyboard-first decisions.

State lives in traitlets so a page reload or Voila shows the same thing: the current image (as
binary ``Bytes``, never base64), the selection, threshold and mode. The boxes go as rows
(``nblabel.reviewing.image.rows``: column by column, binary) in custom messages. The browser keeps
drag, resize, zoom and pan to itself and sends only decisions and navigation; it paints a
decision at once as on its way, and Python journals it and answers with the rows it changed and
the box to select next (or with why it refused it, and the browser puts the box back).

The widget is the controller; each concern has its own module: :mod:`.screen` (the rows on
screen and their diffs), :mod:`.prefetch` (images sent ahead), :mod:`.messages` (one handler
per message kind), :mod:`.masking` (click to mask, brush, polygon, behind a host protocol),
:mod:`.session` (decisions, journal, sync). The keys are listed in ``KEYS`` (press ``?``), read
from the keymap the browser uses.

Moving on (``→``) from an image is a skip unless the reviewer decided something there and every
box shown is decided (:func:`nblabel.core.rules.can_finish_on_leave`); "nothing here"
(``Shift+N``, :meth:`ReviewWidget.mark_done`) completes an image explicitly, e.g. an empty one,
which then trains the model as a labeled negative.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import traitlets

from nblabel.core import rules
from nblabel.core.labels import IMAGE_LABEL_KEY, Action, Box, Decision, InvalidLabelError
from nblabel.core.rules import DEFAULT_THRESHOLD, can_finish_on_leave
from nblabel.reviewing.editor.base import EditorWidget
from nblabel.reviewing.editor.contract import STATIC
from nblabel.reviewing.editor.keys import help_rows
from nblabel.reviewing.editor.loading import field_hint
from nblabel.reviewing.editor.session import ReviewSession, SampleState
from nblabel.reviewing.editor.syncer import DatabaseUnreachable
from nblabel.reviewing.image import rows as rowlib
from nblabel.reviewing.image import worth
from nblabel.reviewing.image.assist import ExemplarAssist
from nblabel.reviewing.image.masking import MaskEditor
from nblabel.reviewing.image.messages import HANDLERS, ON_SHOWN_SAMPLE, SENT_KINDS
from nblabel.reviewing.image.prefetch import Prefetcher, image_meta
from nblabel.reviewing.image.screen import Screen
from nblabel.reviewing.image.worth import HelpMeter
from nblabel.segmentation.base import Segmenter

__all__ = ["HANDLERS", "KEYS", "SENT_KINDS", "ReviewWidget"]


#: The keys and what they do (the browser shows the same list on ``?``).
KEYS: tuple[tuple[str, str], ...] = help_rows()


class ReviewWidget(EditorWidget):
    """Review a :class:`~nblabel.reviewing.editor.session.ReviewSession` image by image."""

    HANDLERS = HANDLERS
    SENT_KINDS = SENT_KINDS
    REFUSED = "not saved"
    ON_SHOWN_SAMPLE = ON_SHOWN_SAMPLE

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

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
    threshold = traitlets.Float(0.0, min=0.0, max=1.0).tag(sync=True)
    mode = traitlets.Unicode("image").tag(sync=True)
    position = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    reviewed = traitlets.Int(0).tag(sync=True)
    reviewer = traitlets.Unicode("").tag(sync=True)
    #: Truth boxes shown for reference only (not decidable): objects the model missed, when
    #: reviewing evaluation patches. ``[{"label", "box", "kind"}]`` in image pixels.
    reference = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Lasting news (e.g. "model round 2 ready"), unlike ``message`` which each image resets.
    notice = traitlets.Unicode("").tag(sync=True)
    #: Nothing is proposed on the image: a drag draws (Python's rule, ``rules.draws_first``).
    draw_first = traitlets.Bool(False).tag(sync=True)
    #: Where the sync to FiftyOne stands: ``{"state", "waiting", "message"}`` (see
    #: :class:`~nblabel.reviewing.editor.syncer.SyncStatus`); the browser shows the message.
    sync_status = traitlets.Dict().tag(sync=True)
    #: Each source of help's measured worth on the images finished here (``{source: {state,
    #: saving, precision, recall, reason, ...}}``, :mod:`nblabel.reviewing.image.worth`); the
    #: browser shows the sources that stepped back.
    help_status = traitlets.Dict().tag(sync=True)
    #: The browser's last move (``go``/``goto`` message's number) that the image traits
    #: answer: the browser shows a move from its cache at once and ignores older answers.
    nav = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        session: ReviewSession,
        start: int = 0,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        prefetch: int = 3,
        max_preview_side: int = 2560,
        assist: ExemplarAssist | bool | str = True,
        segmenter: Segmenter | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(threshold=threshold, **kwargs)
        self.session = session
        #: Exemplar proposals while labeling from scratch (:mod:`nblabel.reviewing.image.assist`).
        self.assist: ExemplarAssist | None = (
            ExemplarAssist(live=assist == "live") if assist is True or assist == "live"
            else assist if isinstance(assist, ExemplarAssist) else None)
        #: Each source's measured worth: what is shown, and what steps back.
        self.help = HelpMeter(threshold, self.assist.name if self.assist else None,
                              live=bool(self.assist and self.assist.live))
        self.help_status = self.help.status()
        #: Guards the rows on screen against the assistant's thread.
        self._screen_lock = threading.RLock()
        self.state: SampleState | None = None
        #: Why the image on screen is not this reviewer's to review (another reviewer holds or
        #: finished it), or None when it is.
        self.taken: str | None = None
        self._shown_at = time.monotonic()
        #: Samples this widget has shown (a new model's proposals go only to the others).
        self.seen: set[str] = set()
        self.screen: Screen = Screen(self, cache_size=4 * prefetch + 8)
        #: Click to mask (key ``s``), brush, polygon: GrabCut unless a segmenter is given.
        self.masks: MaskEditor = MaskEditor(self, segmenter)
        self.prefetcher: Prefetcher = Prefetcher(
            session, self.screen, lambda c, b: self.send(c, b), depth=prefetch,
            max_preview_side=max_preview_side, assist=self.assist,
            ahead=self.masks.prepare_ahead)
        self.classes = session.classes
        self.attributes = session.attributes.to_dict()
        self.reviewer = session.reviewer
        self.total = len(session.queue)
        self.sync_status = session.sync_status().to_dict()
        session.on_sync_status(lambda status: setattr(self, "sync_status", status.to_dict()))
        if not session.queue:
            self.message = "nothing to review: the queue is empty"
            return
        self.position = -1  # nothing shown yet
        target, skipped, free = _free_position(self, min(max(start, 0), self.total - 1), 1)
        self.show(target)
        if not free:
            # Every image ahead is held or finished by another reviewer: show the first one,
            # but say it is not this reviewer's to review.
            self.taken = skipped[0] if skipped else "taken"
            self.message = (f"no image left for you: the next {len(skipped)} are held or "
                            f"finished by other reviewers ({skipped[0]})")
        elif skipped:
            self.message = f"skipped {len(skipped)} image(s) ({skipped[0]})"
        hint = field_hint(session.dataset, session.field, session.gt_field)
        if hint:
            self.message = "; ".join(m for m in (self.message, hint) if m)

    def close(self) -> None:
        """Close the widget and its session (remaining decisions are synced first). Closing
        twice (ipywidgets closes again when the object is collected) does nothing more."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        self.prefetcher.close()
        if self.assist is not None:
            self.assist.close()
        if self.state is not None:
            self.session.team.release(self.state.sample_id)
        self.session.close()
        super().close()

    # -- navigation --------------------------------------------------------------------------

    def show(self, position: int, browser_has: str | None = None) -> None:
        """Show the sample at ``position`` in the queue.

        ``browser_has``: the sample id whose image the browser already shows (from prefetch);
        then the ``image`` trait changes in the kernel without sending the bytes again (a page
        reload still gets them, from the kernel's state).
        """
        sid = self.session.queue[position]
        try:
            state = self.prefetcher.load(sid, wait=5.0)
        except DatabaseUnreachable as exc:
            status = self.session.sync_status()
            self.message = (f"{exc}: cannot open image {position + 1} yet. "
                            f"{status.waiting} decision(s) wait in the journal (saved on disk)")
            return
        previous = self.state
        if previous is not None and previous.sample_id != sid:
            worth.on_left(self, previous)
        holder = self.session.team.claim(sid)
        self.taken = f"{holder} is reviewing it" if holder else None
        self.state = state
        self.seen.add(sid)
        self._shown_at = time.monotonic()
        data = state.image.data if state.image else b""
        rows = self.screen.rows(state)
        selected = rowlib.first_selection(rows)
        with self.hold_sync():
            # The rows go first (the traits are held until the block ends), so the browser has
            # them when the new sample id arrives; not at all when it already shows them.
            wire, buffers = rowlib.encode(rows)
            if browser_has == sid and self.prefetcher.browser_has(sid, wire, buffers):
                self.screen.rows_now = list(rows)
            else:
                self.screen.send_rows(rows, full=True, selected=selected)
            self.position = position
            self.sample_id = sid
            if browser_has == sid:
                self._set_quietly("image", data)
            else:
                self.image = data
            for name, value in image_meta(state).items():
                setattr(self, name, value)
            self.image_label = self.screen.image_label_row(state)
            self.selected = selected
            self.reviewed = self.session.progress.count()
            self.reference = self.screen.reference_rows(state)
            notes = [f"{holder} is reviewing this image too"] if holder else []
            self.message = "; ".join(notes + self.screen.notes(state))
        self.prefetcher.around(position)

    @property
    def boxes(self) -> list[dict[str, Any]]:
        """The rows of the image on screen, as the browser shows them (reading order)."""
        return [dict(r) for r in self.screen.rows_now]

    def go(self, delta: int, browser_has: str | None = None) -> None:
        """Move ``delta`` images along the queue: a skip, unless the image was finished
        (:meth:`finish_on_leave`).

        In team review, images another reviewer is on or has finished are skipped (and said
        so); going to a position shows any image.
        """
        self.finish_on_leave()
        target, skipped, _ = _free_position(self, self.position + delta, 1 if delta >= 0 else -1)
        self.goto(target, delta, browser_has)
        if skipped:
            self.message = f"skipped {len(skipped)} image(s) ({skipped[0]})"

    def goto(self, position: int, direction: int = 1, browser_has: str | None = None) -> None:
        if not self.total:
            self.message = "nothing to review: the queue is empty"
            return
        target = min(max(position, 0), self.total - 1)
        if target != self.position or self.state is None:
            self.show(target, browser_has)
        else:
            self.reviewed = self.session.progress.count()
            self.message = "last image" if direction > 0 else "first image"
            left = [i for i, sid in enumerate(self.session.queue)
                    if not self.session.progress.counted(sid)]
            if direction > 0 and left:  # say what was skipped on the way, and where it starts
                self.message = (f"last image: {len(left)} image(s) skipped and still to review, "
                                f"the first at position {left[0] + 1}")

    def finish_on_leave(self) -> None:
        """Leaving an image finishes it when the reviewer decided something on it and every
        proposal shown is decided (the rule: :func:`~nblabel.core.rules.can_finish_on_leave`;
        proposals hidden below the threshold stay undecided). Otherwise leaving is a skip."""
        state = self.state
        if state is None or state.size is None or self.session.progress.counted(state.sample_id):
            return
        decided = self.session.decisions(state.sample_id)
        shown = [p.id for p in state.proposals
                 if rules.shown(p.confidence, p.source, self.threshold, self.help.floors)]
        shown += [u.id for u in state.unusable]
        decided_ids = {d.proposal.id for d in decided.values() if d.proposal is not None}
        if can_finish_on_leave(shown, decided_ids, has_image_label=state.image_label is not None,
                               image_decided=IMAGE_LABEL_KEY in decided,
                               anything_decided=bool(decided)):
            self.session.complete(state.sample_id, self.seconds())

    def mark_done(self, seconds: float | None = None, seq: int | None = None) -> bool:
        """Nothing (more) here (``Shift+N``): mark the image on screen reviewed with what it
        holds (no boxes: a labeled negative) and move on. Refused, with the reason, while a
        box shown is still pending: decide it first (``r`` rejects it)."""
        state = self.current()
        if state.size is None:
            raise InvalidLabelError(f"cannot label {state.filepath}: {state.error}")
        pending = [r for r in self.screen.rows_now if rowlib.is_open(r)]
        if pending:
            self.message = (f"{len(pending)} box(es) shown are still pending: accept or reject "
                            "them first (Shift+A accepts all, r rejects one)")
            self.answer(seq, self.message)
            return False
        self.session.complete(state.sample_id, self.seconds(seconds))
        self.answer(seq)
        self.reviewed = self.session.progress.count()
        self.go(1)
        return True

    def seconds_on_image(self) -> float:
        return time.monotonic() - self._shown_at

    def seconds(self, seconds: float | None = None) -> float:
        """``seconds`` as the browser measured them, else the time since the image was shown."""
        return self.seconds_on_image() if seconds is None else max(0.0, float(seconds))

    def current(self) -> SampleState:
        """The image on screen (``InvalidLabelError`` before any)."""
        if self.state is None:
            raise InvalidLabelError("no image is shown")
        return self.state

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
        ds = self.session.decide_many(self.current(), keys, action,
                                      seconds_on_image=self.seconds(seconds), label=label,
                                      box=box)
        self.changed(ds, select=None if Action(action) is Action.EDITED else "next", seq=seq)
        return ds

    def add(self, label: str, box: Box, seconds: float | None = None,
            seq: int | None = None) -> Decision:
        """Add a box the model missed on the current image."""
        state = self.current()
        d = self.session.add(state, label, box, seconds_on_image=self.seconds(seconds))
        self.changed([d], select=d.key, seq=seq)
        if self.assist is not None:
            self.assist.after_decision(self.session, state,
                                       lambda n: worth.on_assisted(self, state.sample_id, n))
        return d

    def add_class(self, name: str, seq: int | None = None) -> None:
        """Add a class to choose from (the reviewer typed it in the widget)."""
        name = str(name).strip()
        error = None
        if not name or len(name) > 64 or any(c in name for c in "\n\t"):
            error = f"a class name must be 1 to 64 characters on one line, not {name!r}"
        elif name in self.session.classes:
            error = f"class {name!r} is already there"
        else:
            self.session.classes.append(name)
            self.classes = list(self.session.classes)
            self.message = f"class {name!r} added"
        if error:
            self.message = error
        self.answer(seq, error)

    def accept_all(self, seconds: float | None = None, seq: int | None = None) -> list[Decision]:
        """Accept every undecided proposal at or above the threshold on the current image."""
        ds = self.session.accept_all(self.current(), self.threshold,
                                     seconds_on_image=self.seconds(seconds),
                                     floors=self.help.floors)
        self.changed(ds, select="next", seq=seq)
        return ds

    def classify(self, action: Action | str, label: str | None = None,
                 seconds: float | None = None, seq: int | None = None) -> Decision:
        """Accept, replace or reject the current image's class."""
        d = self.session.classify(self.current(), action, label,
                                  seconds_on_image=self.seconds(seconds))
        self.changed([d], select=None, seq=seq)
        return d

    def undo(self, seq: int | None = None) -> None:
        self._after_history(self.session.undo(), "nothing to undo", seq)

    def redo(self, seq: int | None = None) -> None:
        self._after_history(self.session.redo(), "nothing to redo", seq)

    def _after_history(self, changed: list[Decision], empty: str, seq: int | None) -> None:
        if not changed:
            self.message = empty
            self.answer(seq)
            return
        sid = changed[0].sample_id
        if sid != self.sample_id and sid in self.session.queue:
            self.show(self.session.queue.index(sid))  # undo brings back the image it changed
            self.answer(seq)
        else:
            self.changed(changed, select=changed[0].key, seq=seq)

    # -- answers to the browser --------------------------------------------------------------

    def answer(self, seq: int | None, error: str | None = None) -> None:
        """Answer a message that changed no row (the browser waits for each answer); with
        ``error`` when it was refused (the browser puts back what it painted)."""
        self.screen.answer(seq, error)

    def changed(self, decisions: Sequence[Decision], *, select: str | None,
                seq: int | None) -> None:
        """Send the rows ``decisions`` changed, the box to select next, and the counts."""
        with self._screen_lock:
            state = self.current()
            select = self.screen.changed(decisions, select=select, seq=seq)
            with self.hold_sync():
                if select is not None and select != self.selected:
                    self._set_quietly("selected", select)  # the browser took it from the rows
                self.image_label = self.screen.image_label_row(state)
                self.reviewed = self.session.progress.count()
                self.message = ""

    def proposals_updated(self, sample_ids: Iterable[str], note: str = "") -> None:
        """New proposals were written for ``sample_ids`` (e.g. by a fine-tuned model): images
        not on screen show them when reached; the image on screen keeps what it shows."""
        self.prefetcher.forget(set(sample_ids) - {self.sample_id})
        if note:
            self.notice = note
        self.prefetcher.around(self.position)

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
        meter: HelpMeter | None = getattr(self, "help", None)
        if meter is not None:
            meter.set_threshold(float(change["new"]))
        state: SampleState | None = getattr(self, "state", None)
        screen: Screen | None = getattr(self, "screen", None)
        if state is None or screen is None or not screen.rows_now:
            return
        screen.send_rows(screen.rows(state), full=True)


def _free_position(w: ReviewWidget, start: int, step: int) -> tuple[int, list[str], bool]:
    """The first position from ``start`` (in direction ``step``, 50 at most) that no other
    reviewer holds or finished, claimed for this reviewer; why the others were skipped; whether
    one was free (when none is, stays put, or ``start`` before anything is shown)."""
    queue = w.session.queue
    window = list(range(start, -1 if step < 0 else w.total, step))[:50]
    taken = w.session.team.taken_by_others([queue[p] for p in window])
    skipped: list[str] = []
    for p in window:
        why = taken.get(queue[p])
        if why is None and p != w.position:
            # Claim it now, atomically: two reviewers moving on at once cannot both get it,
            # nor one get an image another finished since the look above.
            why = w.session.team.take(queue[p])
        if why is None:
            return p, skipped, True
        skipped.append(why)
    return (w.position if window and w.state is not None else start), skipped, False
