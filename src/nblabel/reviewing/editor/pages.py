"""Widgets reviewed image by image (keypoints and polylines, image-level labels): the image
shown as binary, its place in the session's order, team claims as the reviewer moves, the next
image not yet reviewed, and navigation messages, written once. A kind adds its own labels
(:meth:`ImagePagesWidget.refresh`) and, if it has any, what was wrong with an image's stored
proposals (:meth:`ImagePagesWidget.problems_on`).

The session is duck-typed: ``order``, ``reviewed``, ``claims`` (or None), ``dataset``.
"""

from __future__ import annotations

from typing import Any

import traitlets

from nblabel.core.images import ImageLoadError, load_display_image
from nblabel.reviewing.editor.base import EditorWidget

__all__ = ["ImagePagesWidget"]


class ImagePagesWidget(EditorWidget):
    """Base of the image-by-image widgets (see the module doc)."""

    sample_id = traitlets.Unicode("").tag(sync=True)
    position = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    image = traitlets.Bytes(None, allow_none=True).tag(sync=True)
    width = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(0).tag(sync=True)
    #: The classes offered for a drawn, added or relabeled label.
    classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    reviewed = traitlets.Bool(False).tag(sync=True)

    session: Any

    def open_first(self) -> None:
        """Show the first image no other reviewer holds or finished (or say there is none)."""
        r = self.session
        self.total = len(r.order)
        if not r.order:
            self.message = "nothing to review: the view is empty"
            return
        start = next((i for i, sid in enumerate(r.order)
                      if sid not in r.reviewed and (r.claims is None
                                                    or r.claims.take(sid) is None)), 0)
        self.show(start)

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
        try:
            shown = load_display_image(path)
            data: bytes | None = shown.data
            w, h = shown.size.width, shown.size.height
            error = ""
        except ImageLoadError as exc:  # named; the review goes on with the next image
            data, w, h = None, 0, 0
            error = f"sample {sid}: {exc}"
        with self.hold_sync():
            self.position, self.sample_id = position, sid
            self.image, self.width, self.height = data, w, h  # type: ignore[assignment]
            self.refresh(select_first=True)  # reads the labels: their problems are known now
            said = error or self.problems_on(sid)
            self.message = "; ".join(m for m in (
                f"{holder} is reviewing this image" if holder else "", said) if m)

    def next_pending(self) -> None:
        """Open the next image not reviewed yet that no other reviewer holds."""
        r = self.session
        for step in range(1, len(r.order) + 1):
            pos = (self.position + step) % len(r.order)
            sid = r.order[pos]
            if sid in r.reviewed:
                continue
            if r.claims is not None and sid != self.sample_id and r.claims.take(sid):
                continue  # another reviewer holds or finished it
            self.show(pos)
            return
        self.message = "every image is reviewed (or held by another reviewer)"

    def refresh(self, select_first: bool = False) -> None:
        """Send the image's labels (a kind's own)."""
        raise NotImplementedError

    def problems_on(self, sample_id: str) -> str:
        """What was wrong with the image's stored proposals ("" when nothing)."""
        return ""

    def _on_nav(self, content: dict[str, Any], seq: int | None) -> None:
        to = content.get("to")
        if to == "next_pending":
            self.next_pending()
        else:
            self.show(self.position + (1 if to == "next" else -1))
