"""The one anywidget class: what every review widget (images, video, shapes, volumes,
image-level labels) shares on Python's side.

- **One dispatch.** Each kind declares ``HANDLERS`` (message kind -> handler) once; a message is
  dispatched here, its sequence number read here.
- **Every request is answered.** A handler that raises one of :data:`REFUSALS` (a bad value, an
  unknown key, a journal that cannot be written, an image, frame or slice that cannot be read, a
  database that cannot be reached) is answered with the error, named; any other exception too
  (and logged), so the browser never waits past its time limit and puts back what it painted.
- **The shared traits.** ``message`` (what the reviewer should read now), ``selected`` and
  ``attributes`` (the labels' declared attributes, :mod:`nblabel.core.attributes`).

The browser's side is ``js/src/editor/`` (``answers.ts``: the request/answer loop with its time
limit and revert); a kind adds only what is its own (``js/src/<kind>/``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import anywidget
import traitlets

from nblabel.core.images import ImageLoadError
from nblabel.core.labels import InvalidLabelError
from nblabel.store.journal import JournalError

__all__ = ["REFUSALS", "EditorWidget", "Handler"]

log = logging.getLogger(__name__)

Handler = Callable[[Any, dict[str, Any], "int | None"], None]


def _refusals() -> tuple[type[BaseException], ...]:
    from nblabel.core.video import VideoError
    from nblabel.core.volume import VolumeError
    from nblabel.reviewing.editor.syncer import DatabaseUnreachable

    return (InvalidLabelError, JournalError, ImageLoadError, VideoError, VolumeError,
            DatabaseUnreachable, KeyError, ValueError, TypeError, IndexError, LookupError)


#: The errors a request is refused with (answered with their message, nothing else changes).
REFUSALS: tuple[type[BaseException], ...] = _refusals()


class EditorWidget(anywidget.AnyWidget):
    """Base of every review widget: dispatch, answers, refusals (see the module doc)."""

    #: Message kind -> handler ``(widget, content, seq)``; each kind's table, declared once.
    HANDLERS: ClassVar[Mapping[str, Handler]] = {}
    #: Every message kind Python sends (the kind's ``FromPython`` type in TypeScript).
    SENT_KINDS: ClassVar[tuple[str, ...]] = ("answer",)
    #: How a refusal starts in ``message``.
    REFUSED: ClassVar[str] = "not done"
    #: Kinds that act on the sample on screen: refused (answered) when the message names
    #: another ``sample_id`` (the reviewer moved on before it arrived).
    ON_SHOWN_SAMPLE: ClassVar[frozenset[str]] = frozenset()

    message = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    #: The labels' attributes by class (``Attributes.to_dict``: ``{class: [{name, kind,
    #: options}]}``, ``"*"`` for every class); empty when none is declared.
    attributes = traitlets.Dict().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(lambda _w, content, _buffers: self.dispatch(content))

    def dispatch(self, content: Mapping[str, Any]) -> None:
        """Handle one message from the browser: its kind's handler, then an answer when it was
        refused or failed (a handler answers itself when it succeeds)."""
        content = dict(content)
        kind = str(content.get("kind"))
        raw = content.get("seq")
        seq = int(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        handler = type(self).HANDLERS.get(kind)
        if handler is None:
            self.refuse(seq, f"not understood: a message of kind {kind!r}")
            return
        try:
            if kind in self.ON_SHOWN_SAMPLE and \
                    content.get("sample_id") != getattr(self, "sample_id", None):
                self.answer(seq, "the image changed before this arrived")
                return
            handler(self, content, seq)
        except REFUSALS as exc:
            self.refuse(seq, f"{self.REFUSED}: {_named(exc)}")
        except Exception as exc:  # a bug: still answered, so the browser is never left busy
            log.exception("a %s message failed", kind)
            self.refuse(seq, f"{self.REFUSED}: {type(exc).__name__}: {exc}")

    def refuse(self, seq: int | None, text: str) -> None:
        """Say why a request was not done, and answer it with that."""
        self.message = text
        self.answer(seq, text)

    def close(self) -> None:
        """Close the widget once: :meth:`on_close` lets a kind stop its workers and give back
        its claims (ipywidgets closes again when the object is collected, maybe as Python shuts
        down: nothing is done twice)."""
        if getattr(self, "_closed_once", False):
            return
        self._closed_once = True
        self.on_close()
        super().close()

    def on_close(self) -> None:
        """What a kind stops or gives back when its widget closes."""

    def answer(self, seq: int | None, error: str | None = None) -> None:
        """Answer request ``seq`` (with ``error`` when refused: the browser puts back what it
        painted and shows why)."""
        if seq is not None:
            self.send({"kind": "answer", "seq": seq, "error": error})


def _named(exc: BaseException) -> str:
    """An exception's message; a bare KeyError's repr says only the key."""
    if isinstance(exc, KeyError) and len(exc.args) == 1 and not isinstance(exc.args[0], str):
        return f"no {exc.args[0]!r}"
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__
