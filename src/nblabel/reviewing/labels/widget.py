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
from nblabel.core.images import ImageLoadError, load_display_image
from nblabel.core.labels import STATUSES
from nblabel.reviewing.editor.base import EditorWidget, Handler
from nblabel.reviewing.editor.contract import STATIC
from nblabel.reviewing.labels.review import LabelReview

__all__ = ["LabelReviewWidget", "label_wire"]


def label_wire(lab: ImageLabel) -> dict[str, Any]:
    """A label as the widget lists it (``WireLabel`` in types.ts)."""
    return {"id": lab.id, "label": lab.label,
            "conf": None if lab.confidence is None else round(lab.confidence, 3),
            "status": STATUSES.index(lab.status), "attributes": dict(lab.attributes) or None}


class LabelReviewWidget(EditorWidget):
    """Review ``session``'s image-level labels in the notebook (keys: press ``?``)."""

    _esm = STATIC / "labels.js"
    _css = STATIC / "labels.css"

    sample_id = traitlets.Unicode("").tag(sync=True)
    position = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    image = traitlets.Bytes(None, allow_none=True).tag(sync=True)
    width = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(0).tag(sync=True)
    #: The image's labels (:func:`label_wire`), most confident first.
    labels = traitlets.List(traitlets.Dict()).tag(sync=True)
    threshold = traitlets.Float(0.5).tag(sync=True)
    classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    reviewed = traitlets.Bool(False).tag(sync=True)

    def __init__(self, session: LabelReview, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.total = len(session.order)
        self.threshold = session.threshold
        self.attributes = session.attributes.to_dict()
        if session.order:  # the first image no other reviewer holds or finished
            claims = session.claims
            start = next((i for i, sid in enumerate(session.order)
                          if sid not in session.reviewed
                          and (claims is None or claims.take(sid) is None)), 0)
            self.show(start)
        else:
            self.message = "nothing to review: the view is empty"

    def show(self, position: int) -> None:
        """Open the image at ``position`` of the review order."""
        r = self.session
        position = max(0, min(position, len(r.order) - 1))
        sid = r.order[position]
        holder = None
        if r.claims is not None:  # team review: hold the image shown, let go of the last one
            if self.sample_id and self.sample_id != sid:
                r.claims.release([self.sample_id])
            holder = r.claims.claim(sid)
        path = r.dataset.select(sid).values("filepath")[0]
        message = f"{holder} is reviewing this image" if holder else ""
        try:
            shown = load_display_image(path)
            data: bytes | None = shown.data
            w, h = shown.size.width, shown.size.height
        except ImageLoadError as exc:  # named; the review goes on with the next image
            data, w, h = None, 0, 0
            message = f"sample {sid}: {exc}"
        with self.hold_sync():
            self.position, self.sample_id = position, sid
            self.image, self.width, self.height = data, w, h  # type: ignore[assignment]
            self._refresh(select_first=True)
            self.message = message

    def _refresh(self, select_first: bool = False) -> None:
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

    def next_pending(self) -> None:
        """Open the next image not reviewed yet that no other reviewer holds."""
        r = self.session
        for step in range(1, len(r.order) + 1):
            pos = (self.position + step) % len(r.order)
            sid = r.order[pos]
            if sid in r.reviewed:
                continue
            if r.claims is not None and sid != self.sample_id and r.claims.take(sid):
                continue
            self.show(pos)
            return
        self.message = "every image is reviewed (or held by another reviewer)"

    # -- messages ------------------------------------------------------------------------------

    def _on_nav(self, content: dict[str, Any], seq: int | None) -> None:
        to = content.get("to")
        if to == "next_pending":
            self.next_pending()
        else:
            self.show(self.position + (1 if to == "next" else -1))

    def _on_act(self, c: dict[str, Any], seq: int | None) -> None:
        action = str(c.get("action"))
        act(self, self.session, self.sample_id, action, str(c.get("label_id") or self.selected),
            c)
        if action != "complete":
            self._refresh()
            self.message = ""
        self.answer(seq)

    HANDLERS: ClassVar[Mapping[str, Handler]] = {"act": _on_act, "nav": _on_nav}


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
