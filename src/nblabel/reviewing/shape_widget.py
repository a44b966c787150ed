"""The shapes widget: keypoint instances or polylines, reviewed image by image.

Python decides (which image comes next, what an action changes, whether proposals are shown)
and the browser displays: the image goes as binary, the shapes as a list; point dragging,
drawing point by point and polyline vertex editing stay in the browser, and each action is one
message, one :class:`~nblabel.reviewing.shapes.ShapeReview` call (journaled, undoable) and an
answer. The traits and message kinds are declared once in ``js/src/shapes/types.ts``, the keys
in ``js/src/shapes/keys.json`` (shipped as ``nblabel/static/shapekeys.json``).

Left out for now: zoom and pan (images are drawn at least 480 px on their longer side) and a
class list (a drawn shape takes the selected shape's class, else the commonest one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

from nblabel.core.images import ImageLoadError, load_display_image
from nblabel.core.shapes import POINT_STATES, STATUSES, Shape
from nblabel.reviewing.shapes import ShapeReview

__all__ = ["ShapeReviewWidget", "shape_wire"]

_STATIC = Path(__file__).parents[1] / "static"


def shape_wire(s: Shape) -> dict[str, Any]:
    """A shape as the widget draws it (``WireShape`` in types.ts)."""
    return {"id": s.id, "label": s.label,
            "points": [None if p is None else [round(p[0], 2), round(p[1], 2)]
                       for p in s.points],
            "conf": [None if c is None else round(c, 3) for c in s.confidence],
            "vis": list(s.visible), "pst": [POINT_STATES.index(p) for p in s.point_status],
            "status": STATUSES.index(s.status), "closed": s.closed}


class ShapeReviewWidget(anywidget.AnyWidget):
    """Review ``review``'s images in the notebook (keys: press ``?`` in the widget)."""

    _esm = _STATIC / "shapes.js"
    _css = _STATIC / "shapes.css"

    kind = traitlets.Unicode("keypoints").tag(sync=True)
    sample_id = traitlets.Unicode("").tag(sync=True)
    position = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    image = traitlets.Bytes(None, allow_none=True).tag(sync=True)
    width = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(0).tag(sync=True)
    shapes = traitlets.List(traitlets.Dict()).tag(sync=True)
    skeleton: traitlets.Dict[str, Any] = traitlets.Dict({"names": [], "edges": []}).tag(
        sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    point = traitlets.Int(-1).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    assist = traitlets.Bool(True).tag(sync=True)
    reviewed = traitlets.Bool(False).tag(sync=True)

    def __init__(self, review: ShapeReview, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.review = review
        self.kind = review.kind
        self.total = len(review.order)
        if review.skeleton is not None:
            self.skeleton = review.skeleton.to_dict()
        self.on_msg(lambda _w, content, _buffers: self._on_msg(content))
        if review.order:
            self.show(0)

    # -- what is shown -------------------------------------------------------------------------

    def show(self, position: int) -> None:
        """Open the image at ``position`` of the review order."""
        r = self.review
        position = max(0, min(position, len(r.order) - 1))
        sid = r.order[position]
        path = r.dataset.select(sid).values("filepath")[0]
        try:
            shown = load_display_image(path)
            data: bytes | None = shown.data
            w, h = shown.size.width, shown.size.height
        except ImageLoadError as exc:  # named; the review goes on with the next image
            data, w, h = None, 0, 0
            self.message = f"sample {sid}: {exc}"
        with self.hold_sync():
            self.position, self.sample_id = position, sid
            self.image, self.width, self.height = data, w, h  # type: ignore[assignment]
            self._refresh(select_first=True)
            if data is not None:
                self.message = self._problems(sid)

    def _problems(self, sid: str) -> str:
        mine = [p for p in self.review.problems if sid in p]
        return "; ".join(mine[:3]) + (f" (and {len(mine) - 3} more)" if len(mine) > 3 else "")

    def _refresh(self, select_first: bool = False) -> None:
        r, sid = self.review, self.sample_id
        shapes = r.shapes_on(sid) if sid else []
        self.shapes = [shape_wire(s) for s in shapes]
        self.labels = sorted({s.label for s in shapes})
        self.assist = r.assist
        self.reviewed = sid in r.reviewed
        ids = [s.id for s in shapes]
        if select_first or self.selected not in ids:
            pending = r.pending(sid) if sid else []
            self.selected = pending[0] if pending else (ids[0] if ids else "")
            self.point = -1

    # -- messages ------------------------------------------------------------------------------

    def _on_msg(self, content: dict[str, Any]) -> None:
        kind = str(content.get("kind"))
        if kind == "nav":
            to = content.get("to")
            if to == "next_pending":
                self.next_pending()
            else:
                self.show(self.position + (1 if to == "next" else -1))
        elif kind == "act":
            self._on_act(content)
        else:
            self.message = f"not understood: a message of kind {kind!r}"

    def next_pending(self) -> None:
        """Open the next image in the order that is not reviewed yet (or say there is none)."""
        r = self.review
        for step in range(1, len(r.order) + 1):
            pos = (self.position + step) % len(r.order)
            if r.order[pos] not in r.reviewed:
                self.show(pos)
                return
        self.message = "every image is reviewed"

    def _on_act(self, c: dict[str, Any]) -> None:
        seq, action = c.get("seq"), str(c.get("action"))
        r, sid = self.review, self.sample_id
        shape = str(c.get("shape") or self.selected)
        point = int(c.get("point", self.point) if c.get("point") is not None else -1)
        try:
            self._apply(r, sid, action, shape, point, c)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            self.message = f"not done: {exc}"
            self.send({"kind": "answer", "seq": seq, "error": self.message})
            return
        if action != "complete":
            self._refresh()
            self.message = ""
        self.send({"kind": "answer", "seq": seq, "error": None})

    def _apply(self, r: ShapeReview, sid: str, action: str, shape: str, point: int,
               c: dict[str, Any]) -> None:
        if action in ("undo", "redo"):
            where = getattr(r, action)()
            if where is None:
                raise ValueError(f"nothing to {action}")
            if where != sid:
                self.show(r.order.index(where))
        elif action == "accept_rest":
            r.accept_rest(sid)
        elif action == "complete":
            r.complete(sid)
            self.next_pending()
        elif action == "show_proposals":
            r.show_proposals(sid)
        elif action == "add":
            label = next((s["label"] for s in self.shapes if s["id"] == shape), None) or \
                (max(self.labels, key=[s["label"] for s in self.shapes].count)
                 if self.labels else "object")
            made = r.add(sid, label, c["points"], bool(c.get("closed", False)))
            self.selected, self.point = made.id, -1
        elif action in ("accept", "reject", "delete"):
            getattr(r, action)(sid, shape)
            if action != "delete" and r.pending(sid):
                self.selected = r.pending(sid)[0]  # on to the next pending instance
        elif action in ("accept_point", "reject_point", "hide_point"):
            if point < 0:
                raise ValueError("select a point first (click it, or . and ,)")
            getattr(r, action)(sid, shape, point)
        elif action == "move_point":
            r.move_point(sid, shape, point, [float(v) for v in c["xy"]])
        elif action == "reshape":
            r.reshape(sid, shape, [[float(v) for v in p] for p in c["points"]])
        else:
            raise ValueError(f"unknown shape action {action!r}")


#: Every message kind the browser sends (``ShapesToPython`` in js/src/shapes/types.ts).
RECEIVED_KINDS = ("act", "nav")
#: Every message kind Python sends (``ShapesFromPython``).
SENT_KINDS = ("answer",)
