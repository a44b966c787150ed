"""Messages from the browser: one handler per kind, dispatched through one table.

Every kind the browser sends is declared once in ``js/src/types.ts`` (``ToPython``) and has one
handler here (``HANDLERS``; a unit test compares the two), dispatched by the base widget
(:class:`~nblabel.reviewing.editor.base.EditorWidget`). A message that carries a sequence
number is always answered: with the rows it changed, or with none and, when it was refused
(a bad box, an unknown key, a journal that cannot be written), the reason, so the browser puts
back what it painted as on its way and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nblabel.core.images import ImageLoadError, load_display_image
from nblabel.core.labels import Box

if TYPE_CHECKING:
    from nblabel.reviewing.image.widget import ReviewWidget

__all__ = ["HANDLERS", "ON_SHOWN_SAMPLE", "SENT_KINDS"]

Handler = Callable[["ReviewWidget", dict[str, Any], "int | None"], None]


def _hello(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    # A new view (first render or page reload): its cache is empty, it has no rows.
    w.prefetcher.reset()
    if w.state is not None:
        w.screen.send_rows(w.screen.rows(w.state), full=True, selected=w.selected or None)
    w.prefetcher.around(w.position)


def _go(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    have = content.get("have")
    try:
        w.go(int(content.get("delta", 1)), str(have) if have else None)
    finally:
        _handled_move(w, content)


def _goto(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    try:
        w.finish_on_leave()
        w.goto(int(content["position"]))
    finally:
        _handled_move(w, content)


def _handled_move(w: ReviewWidget, content: dict[str, Any]) -> None:
    """Say which of the browser's moves the image traits now answer (set after them, even
    when the move failed, so the browser never waits on it)."""
    nav = content.get("nav")
    if isinstance(nav, int | float):
        w.nav = int(nav)


def _done(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    w.mark_done(content.get("seconds"), seq=seq)


def _decide(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    box = content.get("box")
    keys = content.get("keys")
    if not isinstance(keys, list) or not keys:
        raise ValueError(f"a decision names no box: keys={keys!r}")
    w.decide_many([str(k) for k in keys], str(content["action"]), content.get("seconds"),
                  label=content.get("label"), box=Box(*box) if box else None, seq=seq)


def _add(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    w.add(str(content["label"]), Box(*content["box"]), content.get("seconds"), seq=seq)


def _attributes(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    values = content.get("values")
    if not isinstance(values, dict):
        raise ValueError(f"attributes are a mapping of name to value, not {values!r}")
    d = w.session.set_attributes(w.current(), str(content["key"]), values,
                                 seconds_on_image=w.seconds(content.get("seconds")))
    w.changed([d], select=None, seq=seq)


def _accept_all(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    if content.get("threshold") is not None:  # what the user saw when pressing
        w.threshold = float(content["threshold"])
    w.accept_all(content.get("seconds"), seq=seq)


def _add_class(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    w.add_class(str(content.get("name", "")), seq)


def _classify(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    w.classify(str(content["action"]), content.get("label"), content.get("seconds"), seq=seq)


def _undo(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    w.undo(seq)


def _redo(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    w.redo(seq)


def _full_res(w: ReviewWidget, content: dict[str, Any], seq: int | None) -> None:
    """The full image (the browser zoomed in past the preview's resolution)."""
    sample_id = str(content.get("sample_id"))
    if w.state is None or sample_id != w.state.sample_id:
        return
    try:
        full = load_display_image(w.state.filepath)
    except ImageLoadError as exc:
        w.message = str(exc)
        return
    w.send({"kind": "full_res", "sample_id": sample_id, "image_mime": full.mime}, [full.data])


#: Every message kind the browser sends (``ToPython`` in js/src/types.ts) and its handler.
HANDLERS: dict[str, Handler] = {
    "hello": _hello,
    "go": _go,
    "goto": _goto,
    "done": _done,
    "decide": _decide,
    "add": _add,
    "attributes": _attributes,
    "accept_all": _accept_all,
    "classify": _classify,
    "add_class": _add_class,
    "undo": _undo,
    "redo": _redo,
    "full_res": _full_res,
    "segment": lambda w, c, seq: w.masks.on_segment(c, seq),
    "accept_mask": lambda w, c, seq: w.masks.on_accept_mask(c, seq),
    "paint": lambda w, c, seq: w.masks.on_paint(c, seq),
    "polygon": lambda w, c, seq: w.masks.on_polygon(c, seq),
    "set_polygon": lambda w, c, seq: w.masks.on_set_polygon(c, seq),
}
#: Kinds that act on the image on screen: ignored (but answered) when it has changed since.
ON_SHOWN_SAMPLE = frozenset({"done", "decide", "add", "attributes", "accept_all", "classify",
                             "segment",
                             "accept_mask", "paint", "polygon", "set_polygon"})
#: Every message kind Python sends (``FromPython`` in js/src/types.ts).
SENT_KINDS = ("prefetch", "rows", "full_res", "mask", "polygon")
