"""The shapes widget: keypoint instances or polylines, reviewed image by image.

Python decides (which image comes next, what an action changes, whether proposals are shown)
and the browser displays: the image goes as binary, the shapes as a list; point dragging,
drawing point by point and polyline vertex editing stay in the browser, and each action is one
message, one :class:`~nblabel.reviewing.shapes.review.ShapeReview` call (journaled, undoable) and an
answer. The traits and message kinds are declared once in ``js/src/shapes/types.ts``, the keys
in ``js/src/shapes/keys.json`` (shipped as ``nblabel/static/shapekeys.json``).

A drawn shape takes the class picked in the class list (``classes``: those on the image, then
the session's), else the selected shape's, else the commonest one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import traitlets

from nblabel.core.shapes import POINT_STATES, STATUSES, Shape
from nblabel.reviewing.editor.base import Handler
from nblabel.reviewing.editor.contract import STATIC, default_label
from nblabel.reviewing.editor.pages import ImagePagesWidget
from nblabel.reviewing.shapes.review import ShapeReview

__all__ = ["ShapeReviewWidget", "shape_wire"]



def shape_wire(s: Shape) -> dict[str, Any]:
    """A shape as the widget draws it (``WireShape`` in types.ts)."""
    return {"id": s.id, "label": s.label,
            "points": [None if p is None else [round(p[0], 2), round(p[1], 2)]
                       for p in s.points],
            "conf": [None if c is None else round(c, 3) for c in s.confidence],
            "vis": list(s.visible), "pst": [POINT_STATES.index(p) for p in s.point_status],
            "status": STATUSES.index(s.status), "closed": s.closed,
            "attributes": dict(s.attributes) or None}


class ShapeReviewWidget(ImagePagesWidget):
    """Review ``session``'s images in the notebook (keys: press ``?`` in the widget)."""

    _esm = STATIC / "shapes.js"
    _css = STATIC / "shapes.css"

    kind = traitlets.Unicode("keypoints").tag(sync=True)
    shapes = traitlets.List(traitlets.Dict()).tag(sync=True)
    skeleton: traitlets.Dict[str, Any] = traitlets.Dict({"names": [], "edges": []}).tag(
        sync=True)
    point = traitlets.Int(-1).tag(sync=True)
    assist = traitlets.Bool(True).tag(sync=True)

    def __init__(self, session: ShapeReview, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.kind = session.kind
        self.attributes = session.attributes.to_dict()
        self.total = len(session.order)
        if session.skeleton is not None:
            self.skeleton = session.skeleton.to_dict()
        self.open_first()

    # -- what is shown -------------------------------------------------------------------------

    def problems_on(self, sid: str) -> str:
        mine = [p for p in self.session.problems if sid in p]
        return "; ".join(mine[:3]) + (f" (and {len(mine) - 3} more)" if len(mine) > 3 else "")

    def refresh(self, select_first: bool = False) -> None:
        r, sid = self.session, self.sample_id
        shapes = r.shapes_on(sid) if sid else []
        self.shapes = [shape_wire(s) for s in shapes]
        here = sorted({s.label for s in shapes})
        self.classes = here + [c for c in r.classes if c not in here]
        self.assist = r.assist
        self.reviewed = sid in r.reviewed
        ids = [s.id for s in shapes]
        if select_first or self.selected not in ids:
            pending = r.pending(sid) if sid else []
            self.selected = pending[0] if pending else (ids[0] if ids else "")
            self.point = -1

    # -- messages ------------------------------------------------------------------------------

    def _on_act(self, c: dict[str, Any], seq: int | None) -> None:
        action = str(c.get("action"))
        shape = str(c.get("shape") or self.selected)
        point = int(c.get("point", self.point) if c.get("point") is not None else -1)
        self._apply(self.session, self.sample_id, action, shape, point, c)
        if action != "complete":
            self.refresh()
            self.message = ""
        self.answer(seq)

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
            on_image = [s["label"] for s in self.shapes]
            label = str(c.get("label") or "") or next(
                (s["label"] for s in self.shapes if s["id"] == shape), None) or (
                max(set(on_image), key=on_image.count) if on_image else
                (r.classes or [default_label()])[0])
            made = r.add(sid, label, c["points"], bool(c.get("closed", False)))
            self.selected, self.point = made.id, -1
        elif action in ("accept", "reject", "delete", "relabel"):
            if action == "relabel":
                r.relabel(sid, shape, str(c["label"]))
            else:
                getattr(r, action)(sid, shape)
            if action != "delete" and r.pending(sid):
                self.selected = r.pending(sid)[0]  # on to the next pending instance
        elif action == "attributes":
            r.set_attributes(sid, shape, dict(c["values"]))
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


    HANDLERS: ClassVar[Mapping[str, Handler]] = {"act": _on_act,
                                                 "nav": ImagePagesWidget._on_nav}


#: Every message kind the browser sends (``ShapesToPython`` in js/src/shapes/types.ts).
RECEIVED_KINDS = tuple(ShapeReviewWidget.HANDLERS)
#: Every message kind Python sends (``ShapesFromPython``).
SENT_KINDS = ShapeReviewWidget.SENT_KINDS
