"""The rows of the image on screen, as the browser holds them, and what a decision changes in them.

:class:`Screen` builds an image's rows (``nblabel.reviewing.image.rows``: reading order,
visibility at the threshold, status from the journal), sends them (all of them when an image
is shown, then only the rows a decision changed, with the box to select next), and answers
every message that carries a sequence number: with the rows it changed, or with none and, when
Python refused it, the reason (the browser then puts back what it painted as on its way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from nblabel.core.labels import IMAGE_LABEL_KEY, Action, Box, Decision, InvalidLabelError
from nblabel.reviewing.image import rows as rowlib

if TYPE_CHECKING:
    from nblabel.reviewing.editor.loading import SampleState
    from nblabel.reviewing.editor.session import ReviewSession
    from nblabel.reviewing.image.worth import HelpMeter

__all__ = ["Screen", "ScreenHost"]


class ScreenHost(Protocol):
    """What :class:`Screen` needs of the widget: its session, the image on screen, the
    threshold and selection the reviewer set, and the widget's message channel."""

    session: ReviewSession
    state: SampleState | None
    threshold: float
    selected: str

    #: Each source's measured worth: its floor hides what does not pay.
    help: HelpMeter

    def send(self, content: dict[str, Any], buffers: Sequence[bytes] | None = None) -> None: ...


class Screen:
    """The rows on screen and their diffs (see the module doc)."""

    def __init__(self, host: ScreenHost, cache_size: int) -> None:
        self.host = host
        #: The rows the browser holds for the image on screen (what decisions are diffed on).
        self.rows_now: list[dict[str, Any]] = []
        #: Reading order of each recent sample's proposals (sorting 10,000 boxes once).
        self._orders: dict[str, list[int]] = {}
        self._cache_size = cache_size

    def rows(self, state: SampleState) -> list[dict[str, Any]]:
        """Every row of ``state`` at the host's threshold, in reading order."""
        order = self._orders.get(state.sample_id)
        if order is None or len(order) != len(state.proposals):
            order = rowlib.reading_order([p.box.as_list() for p in state.proposals])
            self._orders[state.sample_id] = order
            if len(self._orders) > self._cache_size:
                self._orders.pop(next(iter(self._orders)))
        session = self.host.session
        return rowlib.build_rows(state, session.decisions(state.sample_id), self.host.threshold,
                                 session.focus.get(state.sample_id, set()), order,
                                 self.host.help.floors)

    def send_rows(self, rows: Sequence[dict[str, Any]], *, full: bool,
                  removed: Sequence[str] = (), selected: str | None = None,
                  seq: int | None = None, error: str | None = None) -> None:
        """Send rows of the image on screen: all of them (``full``), or those that changed;
        ``error``: why the message ``seq`` answers was refused (nothing changed)."""
        state = self.host.state
        if state is None:
            return
        if full:
            self.rows_now = list(rows)
        wire, buffers = rowlib.encode(rows)
        self.host.send({"kind": "rows", "sample_id": state.sample_id, "full": full,
                        "rows": wire, "removed": list(removed), "selected": selected,
                        "seq": seq, "error": error}, buffers)

    def answer(self, seq: int | None, error: str | None = None) -> None:
        """Answer a message that changed no row (the browser waits for each answer); with
        ``error`` when it was refused."""
        if seq is not None:
            self.send_rows([], full=False, seq=seq, error=error)

    def changed(self, decisions: Sequence[Decision], *, select: str | None,
                seq: int | None) -> str | None:
        """Send the rows ``decisions`` changed (and those they removed: deleted drawn boxes),
        with the box to select next ("next": the next open box after the last decided);
        returns the selection sent (None: unchanged)."""
        state = self.host.state
        if state is None:
            raise InvalidLabelError("no image is shown")
        session = self.host.session
        decided = session.decisions(state.sample_id)
        proposals = {p.id: p for p in state.proposals}
        focus = session.focus.get(state.sample_id, set())
        index = {r["key"]: i for i, r in enumerate(self.rows_now)}
        changed: list[dict[str, Any]] = []
        removed: list[str] = []
        for key in dict.fromkeys(d.key for d in decisions if d.sample_id == state.sample_id):
            if key == IMAGE_LABEL_KEY:
                continue
            row = self._row(key, decided.get(key), proposals.get(key), index, focus)
            if row is None:
                if key in index:
                    removed.append(key)
                continue
            changed.append(row)
            if key in index:
                self.rows_now[index[key]] = row
            else:
                index[key] = len(self.rows_now)
                self.rows_now.append(row)
        if removed:
            gone = set(removed)
            self.rows_now = [r for r in self.rows_now if r["key"] not in gone]
            index = {r["key"]: i for i, r in enumerate(self.rows_now)}
        selected = self.host.selected
        if select == "next":  # after the decided box that comes last in reading order
            done = [r["key"] for r in changed if r["key"] in index]
            last = max(done, key=index.__getitem__) if done else selected
            select = rowlib.next_pending(self.rows_now, str(last))
        elif select is None and not any(r["key"] == selected for r in self.rows_now):
            select = rowlib.first_selection(self.rows_now)
        self.send_rows(changed, full=False, removed=removed, selected=select, seq=seq)
        return select

    def _row(self, key: str, d: Decision | None, p: Any, index: dict[str, int],
             focus: set[str]) -> dict[str, Any] | None:
        """The row of ``key`` after a decision; None when it is gone (a drawn box deleted)."""
        if p is not None:
            return rowlib.proposal_row(p, d, self.host.threshold, key in focus,
                                       self.host.help.floors)
        if d is not None and d.action is Action.ADDED:
            return rowlib.added_row(d)
        if key in index and self.rows_now[index[key]]["unusable"]:
            return {**self.rows_now[index[key]],
                    "status": d.action.value if d is not None else "pending"}
        return None

    def image_label_row(self, state: SampleState) -> dict[str, Any]:
        """The image-level proposal (classification) and its decision, for the panel."""
        session = self.host.session
        d = session.decisions(state.sample_id).get(IMAGE_LABEL_KEY)
        p = state.image_label
        choices = session.image_classes
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

    def reference_rows(self, state: SampleState) -> list[dict[str, Any]]:
        """Truth boxes the model missed (a patches view's ``fn``), shown for reference."""
        if state.size is None:
            return []
        rows = []
        for label, rel in self.host.session.missed.get(state.sample_id, []):
            try:
                box = Box.from_relative(rel, state.size)
            except InvalidLabelError:
                continue
            rows.append({"label": label, "box": rowlib.rounded_box(box), "kind": "missed"})
        return rows

    def notes(self, state: SampleState) -> list[str]:
        """What a patches view points at on this image, and its unusable stored labels."""
        session = self.host.session
        focus = session.focus.get(state.sample_id, set())
        missed = len(session.missed.get(state.sample_id, []))
        notes = []
        if focus:
            notes.append(f"{len(focus)} false positive(s) to check (outlined)")
        if missed:
            notes.append(f"{missed} missed object(s) shown dashed")
        for u in state.unusable:
            notes.append(f"{u} (select it and reject it)")
        return notes
