"""The image-level labels widget: one image at a time, its labels as a list to triage.

Python decides (which image comes next, what an action changes) and the browser displays: the
image goes as binary into the shared zoomable stage, the labels as a list (most confident first,
each with its confidence and status). Keys: ``Tab`` the next label, ``a``/``r`` accept or
reject it, ``Shift+A`` accept every pending label at or above the threshold (``[``/``]`` move
it), a class typed or picked in the class list adds that label, ``Shift+N`` the image is done.
The traits and message kinds are declared once in ``js/src/labels/types.ts``, the keys in
``js/src/labels/keys.json`` (shipped as ``nblabel/static/labelkeys.json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import traitlets

from nblabel.core.image_labels import ImageLabel
from nblabel.core.labels import STATUSES
from nblabel.reviewing.editor.base import Handler
from nblabel.reviewing.editor.contract import STATIC
from nblabel.reviewing.editor.pages import ImagePagesWidget
from nblabel.reviewing.labels.review import LabelReview

__all__ = ["LabelReviewWidget", "label_wire"]


def label_wire(lab: ImageLabel) -> dict[str, Any]:
    """A label as the widget lists it (``WireLabel`` in types.ts)."""
    return {"id": lab.id, "label": lab.label,
            "conf": None if lab.confidence is None else round(lab.confidence, 3),
            "status": STATUSES.index(lab.status), "attributes": dict(lab.attributes) or None}


class LabelReviewWidget(ImagePagesWidget):
    """Review ``session``'s image-level labels in the notebook (keys: press ``?``)."""

    _esm = STATIC / "labels.js"
    _css = STATIC / "labels.css"

    #: The image's labels (:func:`label_wire`), most confident first.
    labels = traitlets.List(traitlets.Dict()).tag(sync=True)
    threshold = traitlets.Float(0.5).tag(sync=True)

    def __init__(self, session: LabelReview, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.threshold = session.threshold
        self.attributes = session.attributes.to_dict()
        self.open_first()

    def refresh(self, select_first: bool = False) -> None:
        r, sid = self.session, self.sample_id
        labs = r.labels_on(sid) if sid else []
        self.labels = [label_wire(lab) for lab in labs]
        here = sorted({lab.label for lab in labs})
        self.classes = here + [c for c in r.classes if c not in here]
        self.reviewed = sid in r.reviewed
        ids = [lab.id for lab in labs]
        if select_first or self.selected not in ids:
            pending = r.pending(sid) if sid else []
            self.selected = pending[0] if pending else (ids[0] if ids else "")

    # -- messages ------------------------------------------------------------------------------

    def _on_act(self, c: dict[str, Any], seq: int | None) -> None:
        action = str(c.get("action"))
        act(self, self.session, self.sample_id, action, str(c.get("label_id") or self.selected),
            c)
        if action != "complete":
            self.refresh()
            self.message = ""
        self.answer(seq)

    HANDLERS: ClassVar[Mapping[str, Handler]] = {"act": _on_act,
                                                 "nav": ImagePagesWidget._on_nav}


def act(w: LabelReviewWidget, r: LabelReview, sid: str, action: str, lid: str,
        c: dict[str, Any]) -> None:
    """Apply one label action from the browser (a refusal raises, named)."""
    if action in ("undo", "redo"):
        where = getattr(r, action)()
        if where is None:
            raise ValueError(f"nothing to {action}")
        if where != sid:
            w.show(r.order.index(where))
    elif action == "accept_above":
        if c.get("threshold") is not None:
            w.threshold = r.threshold = float(c["threshold"])
        r.accept_above(sid)
    elif action == "accept_rest":
        r.accept_rest(sid)
    elif action == "complete":
        r.complete(sid)
        w.next_pending()
    elif action == "add":
        made = r.add(sid, str(c["label"]))
        w.selected = made.id
    elif action in ("accept", "reject"):
        getattr(r, action)(sid, lid)
        if r.pending(sid):
            w.selected = r.pending(sid)[0]  # on to the next pending label
    elif action == "relabel":
        r.relabel(sid, lid, str(c["label"]))
    elif action == "attributes":
        r.set_attributes(sid, lid, dict(c["values"]))
    else:
        raise ValueError(f"unknown label action {action!r}")


#: Every message kind the browser sends (``LabelsToPython`` in js/src/labels/types.ts).
RECEIVED_KINDS = tuple(LabelReviewWidget.HANDLERS)
#: Every message kind Python sends (``LabelsFromPython``).
SENT_KINDS = LabelReviewWidget.SENT_KINDS
