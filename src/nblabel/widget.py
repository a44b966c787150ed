"""The review widget (anywidget): image with proposals overlaid, keyboard-first decisions.

State lives in traitlets so a page reload or Voila shows the same thing. The image travels as
binary (``Bytes``), never base64. The browser sends only decisions and navigation as custom
messages; Python journals each decision and then updates ``proposals`` (the browser shows a
proposal as decided only once that update arrives, i.e. once the decision is on disk).

Keys (the widget takes focus; its keys do not reach the notebook):

========================  =========================
``Tab`` / ``j`` / ``↓``    next proposal
``Shift+Tab`` / ``k``/``↑``  previous proposal
``a`` / ``Enter``          accept the selected proposal
``r`` / ``x`` / ``Del``    reject the selected proposal
``→`` / ``d`` / ``n``      next image
``←`` / ``p``              previous image
========================  =========================
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from nblabel.session import ReviewSession, SampleState
from nblabel.types import Action, Decision, InvalidLabelError

__all__ = ["ReviewWidget"]

_STATIC = Path(__file__).parent / "static"


class ReviewWidget(anywidget.AnyWidget):
    """Review a :class:`~nblabel.session.ReviewSession` image by image."""

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    image = traitlets.Bytes(b"").tag(sync=True)
    image_mime = traitlets.Unicode("").tag(sync=True)
    image_width = traitlets.Int(0).tag(sync=True)
    image_height = traitlets.Int(0).tag(sync=True)
    image_error = traitlets.Unicode("").tag(sync=True)
    sample_id = traitlets.Unicode("").tag(sync=True)
    filename = traitlets.Unicode("").tag(sync=True)
    proposals = traitlets.List(traitlets.Dict()).tag(sync=True)
    classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.Int(0).tag(sync=True)
    position = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    reviewed = traitlets.Int(0).tag(sync=True)
    reviewer = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def __init__(self, session: ReviewSession, start: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.state: SampleState | None = None
        self._shown_at = time.monotonic()
        self.classes = session.classes
        self.reviewer = session.reviewer
        self.total = len(session.queue)
        self.on_msg(self._on_message)
        if session.queue:
            self.show(min(max(start, 0), len(session.queue) - 1))
        else:
            self.message = "nothing to review: the queue is empty"

    def close(self) -> None:
        """Close the widget and its session (remaining decisions are synced first)."""
        self.session.close()
        super().close()

    # -- navigation --------------------------------------------------------------------------

    def show(self, position: int) -> None:
        """Show the sample at ``position`` in the queue."""
        sid = self.session.queue[position]
        state = self.session.load(sid)
        self.state = state
        self._shown_at = time.monotonic()
        with self.hold_sync():
            self.position = position
            self.sample_id = sid
            self.filename = Path(state.filepath).name
            if state.image is not None:
                self.image = state.image.data
                self.image_mime = state.image.mime
                self.image_width = state.image.size.width
                self.image_height = state.image.size.height
                self.image_error = ""
            else:
                self.image = b""
                self.image_mime = ""
                self.image_width = self.image_height = 0
                self.image_error = state.error or "image could not be loaded"
            self.proposals = self._proposal_rows()
            self.selected = self._first_pending()
            self.reviewed = self.session.reviewed_count()
            self.message = ""

    def go(self, delta: int) -> None:
        """Move ``delta`` images along the queue (marking a finished image complete)."""
        if self.state is not None and self.state.size is not None:
            decided = self.session.decisions(self.state.sample_id)
            if not self.state.proposals and not decided:
                self.session.complete(self.state.sample_id, self.seconds_on_image())
        target = min(max(self.position + delta, 0), self.total - 1)
        if target != self.position or self.state is None:
            self.show(target)
        else:
            self.reviewed = self.session.reviewed_count()
            self.message = "last image" if delta > 0 else "first image"

    def seconds_on_image(self) -> float:
        return time.monotonic() - self._shown_at

    # -- decisions ---------------------------------------------------------------------------

    def decide(self, proposal_id: str, action: Action | str,
               seconds: float | None = None) -> Decision:
        """Decide on a proposal of the current image (what the accept/reject keys call)."""
        if self.state is None:
            raise InvalidLabelError("no image is shown")
        d = self.session.decide(
            self.state, proposal_id, action,
            seconds_on_image=self.seconds_on_image() if seconds is None else seconds,
        )
        with self.hold_sync():
            self.proposals = self._proposal_rows()
            self.reviewed = self.session.reviewed_count()
        return d

    def _proposal_rows(self) -> list[dict[str, Any]]:
        assert self.state is not None
        decided = self.session.decisions(self.state.sample_id)
        rows = []
        for p in self.state.proposals:
            d = decided.get(p.id)
            rows.append({
                "id": p.id,
                "label": p.label,
                "box": p.box.as_list(),
                "confidence": p.confidence,
                "status": d.action.value if d is not None else "pending",
            })
        return rows

    def _first_pending(self) -> int:
        for i, row in enumerate(self.proposals):
            if row["status"] == "pending":
                return i
        return 0

    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: list[Any]) -> None:
        kind = content.get("kind")
        try:
            if kind == "go":
                self.go(int(content.get("delta", 1)))
            elif kind == "decide":
                if content.get("sample_id") != self.sample_id:
                    return  # a key press for an image that is no longer shown
                seconds = content.get("seconds")
                self.decide(str(content["proposal_id"]), str(content["action"]),
                            float(seconds) if seconds is not None else None)
        except (InvalidLabelError, KeyError, ValueError) as exc:
            self.message = f"not saved: {exc}"
