"""Whether each source of help pays, measured on the images this reviewer finishes.

Every proposal stored on an image names its ``source`` (a model round, an import, the exemplar
assistant). When the reviewer finishes an image, :class:`HelpMeter` prices each source's
proposals on it against drawing its final labels by hand (:class:`nblabel.core.ledger.Ledger`),
whether they were shown or not, and the widget shows a source's proposals only where they pay:
from its calibrated floor up, and not at all while it costs more than drawing (it "steps
back", said in the widget's notice, ``widget.help_status`` and ``auto.status``; hidden, not
deleted, it is still measured on every image finished and comes back when it would have paid).

Policy for a source not measured yet: proposals the user asked for (a model's, an import) are
shown; the exemplar assistant, which nobody asked for, proposes in the background (stored but
hidden) and is shown once it has measured, on a finished image, that it saves time. On the
first image its proposals are measured as first made, from the first boxes drawn (the later
ones learned from the image's own boxes would flatter it). ``assist="live"`` (or
``ExemplarAssist(live=True)``) shows it from the first image on, as soon as two boxes are
drawn, at the risk of that image costing more than drawing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nblabel.core.labels import Box, Proposal
from nblabel.core.ledger import UNMEASURED, Ledger, Verdict
from nblabel.core.rules import HIDDEN_FLOOR
from nblabel.reviewing.editor.decisions import proposal_of, standing

if TYPE_CHECKING:
    from nblabel.reviewing.editor.loading import SampleState
    from nblabel.reviewing.editor.session import ReviewSession
    from nblabel.reviewing.image.widget import ReviewWidget

__all__ = ["HelpMeter", "assist_learned", "kept_labels", "on_assisted", "on_left"]


def kept_labels(session: ReviewSession, state: SampleState) -> list[tuple[str, Box]]:
    """The labels a finished image ends with: every decided box the reviewer kept (accepted,
    edited, drawn), as ``(label, pixel box)``."""
    decided = session.decisions(state.sample_id)
    out = []
    for key, d in decided.items():
        if d.kind != "box" or not d.keeps_label:
            continue
        p = proposal_of(state, key)
        label = d.label or (p.label if p is not None else None)
        if label:
            out.append((label, standing(state, decided, key)[0]))
    return out


class HelpMeter:
    """Each source's measured worth on this reviewer's finished images (see the module doc).
    ``assistant``: the exemplar assistant's source name (hidden until measured)."""

    def __init__(self, threshold: float, assistant: str | None = None, *,
                 live: bool = False) -> None:
        self.ledger = Ledger(threshold=threshold)
        self.assistant = assistant
        #: Show the assistant while unmeasured (``ExemplarAssist(live=True)``).
        self.live = live
        self._floors: dict[str, float] = {}
        self._measured: set[str] = set()  # samples measured already (a revisit is not new)
        self._lock = threading.Lock()  # the widget and a learning round's thread record
        self._refresh()

    def _refresh(self) -> None:
        floors = dict(self.ledger.floors())
        if self.assistant is not None and self.assistant not in floors and not self.live:
            floors[self.assistant] = HIDDEN_FLOOR  # proposes in the background until measured
        self._floors = floors

    @property
    def floors(self) -> Mapping[str, float]:
        """Per source, the lowest confidence shown now (above 1: hidden)."""
        return self._floors

    def record(self, source: str, proposals: Sequence[Proposal],
               kept: Sequence[tuple[str, Box]]) -> Verdict:
        """Measure ``source`` on one image measured elsewhere (a model's held-out images)."""
        with self._lock:
            verdict = self.ledger.record(source, proposals, kept)
            self._refresh()
        return verdict

    def set_threshold(self, threshold: float) -> None:
        self.ledger.threshold = threshold
        self._refresh()

    def finished(self, state: SampleState, kept: Sequence[tuple[str, Box]],
                 first: tuple[list[Proposal], list[Box]] | None = None) -> list[Verdict]:
        """Measure every source on ``state``'s finished image, which ends with the ``kept``
        labels; returns the verdicts that changed state (a source stepping back or helping
        again). ``first``: the assistant's proposals as first made on it and the boxes decided
        before (not counted)."""
        if state.sample_id in self._measured:
            return []
        self._measured.add(state.sample_id)
        kept = list(kept)
        by_source: dict[str, list[Proposal]] = {}
        for p in state.proposals:
            if p.source != self.assistant:
                by_source.setdefault(p.source or "proposals", []).append(p)
        measures: dict[str, tuple[list[Proposal], list[tuple[str, Box]]]] = {
            s: (props, kept) for s, props in by_source.items()}
        if first is not None and self.assistant is not None:
            props, before = first
            rest = [(label, b) for label, b in kept if all(b.iou(x) < 0.99 for x in before)]
            measures[self.assistant] = (props, rest)
        changed = []
        with self._lock:
            for source, (props, truth) in measures.items():
                was = self.ledger.verdict(source).state
                now = self.ledger.record(source, props, truth)
                if now.state != was and (was != UNMEASURED or not now.helping
                                         or source == self.assistant):
                    changed.append(now)
            self._refresh()
        return changed

    def status(self) -> dict[str, dict[str, Any]]:
        """Every measured source's verdict (state, saving, precision, recall, IoU, floor,
        reason), as plain values."""
        out = self.ledger.status()
        if self.assistant is not None and self.assistant not in out:
            out[self.assistant] = {
                "source": self.assistant, "state": UNMEASURED, "images": 0,
                "reason": (f"{self.assistant}: shown before it is measured (live)" if self.live
                           else f"{self.assistant}: proposing in the background until a "
                                "finished image shows it saves time")}
        return out


# -- the widget's hooks -------------------------------------------------------------------

def on_left(w: ReviewWidget, previous: SampleState) -> None:
    """The reviewer left ``previous``: release it; if finished, measure every source of help on
    it (a source stepping back or coming back is said, and the images ahead are shown again
    with the new visibility), then let the assistant learn from it."""
    w.session.team.release(previous.sample_id)
    if not w.session.progress.counted(previous.sample_id) or previous.size is None:
        return
    kept = kept_labels(w.session, previous)
    first = w.assist.first(previous.sample_id) if w.assist is not None else None
    changed = w.help.finished(previous, kept, first)
    w.help_status = w.help.status()
    if changed:
        w.notice = "; ".join(v.reason for v in changed)
        w.prefetcher.forget(set(_ahead(w)))
    if w.assist is not None:
        w.assist.left(w.session, previous, kept, lambda: assist_learned(w))


def _ahead(w: ReviewWidget) -> list[str]:
    """The images after the one on screen that the widget has not shown yet."""
    return [s for s in w.session.queue[w.position + 1:] if s not in w.seen]


def assist_learned(w: ReviewWidget) -> None:
    """The assistant learned from a reviewed image: the images ahead not shown yet are
    proposed on again when loaded (the prefetch does it now)."""
    w.proposals_updated(_ahead(w)[:max(w.prefetcher.depth, 1) + 1])


def on_assisted(w: ReviewWidget, sample_id: str, n: int) -> None:
    """The exemplar assistant wrote proposals for ``sample_id``: show them if on screen."""
    if n < 0:
        w.notice = (w.assist.error if w.assist else None) or "exemplars failed"
        return
    state = w.session.load(sample_id, max_side=w.prefetcher.max_preview_side)
    w.prefetcher.replace(state)
    with w._screen_lock:
        if w.state is None or w.state.sample_id != sample_id:
            return
        w.state = state
        rows = w.screen.rows(state)
        keep = w.selected if any(r["key"] == w.selected for r in rows) else None
        w.screen.send_rows(rows, full=True, selected=keep)
    exemplars = len(w.assist.source.exemplars) if w.assist else 0
    if w.assist is not None and w.help.floors.get(w.assist.name, 0.0) > 1.0:
        w.notice = (f"{n} similar object(s) found from {exemplars} exemplar(s), kept hidden: "
                    + w.help.status()[w.assist.name]["reason"])
    else:
        w.notice = f"{n} similar object(s) proposed from {exemplars} exemplar(s)"
