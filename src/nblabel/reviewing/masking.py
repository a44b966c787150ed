"""Making and editing masks in the widget: click to mask (key ``s``), brush and eraser (``e``),
polygon editing (``g``). A mixin of :class:`~nblabel.reviewing.widget.ReviewWidget`, whose
state (session, image on screen, messages) it uses; every edit is one decision, one undo step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nblabel.core.images import ImageLoadError, load_rgb
from nblabel.core.labels import Box, Decision, InvalidLabelError
from nblabel.reviewing.rows import rounded_box
from nblabel.segmentation.base import Prompt, Segmenter

if TYPE_CHECKING:
    from nblabel.reviewing.session import ReviewSession, SampleState

__all__ = ["MaskEditing"]


class MaskEditing:
    """Click to mask, brush and polygon editing for the review widget (see the module doc)."""

    if TYPE_CHECKING:  # provided by ReviewWidget
        session: ReviewSession
        state: SampleState | None
        message: str
        classes: list[str]
        _segmenter: Segmenter | None
        _draft: tuple[str, Box, bytes] | None
        _full_image: tuple[str, Any] | None
        _segmented: bool

        def send(self, content: dict[str, Any], buffers: Sequence[bytes] | None = None
                 ) -> None: ...
        def seconds_on_image(self) -> float: ...
        def _current(self) -> SampleState: ...
        def _ack(self, seq: int | None) -> None: ...
        def _seconds(self, seconds: float | None) -> float: ...
        def _changed(self, decisions: Sequence[Decision], *, select: str | None,
                     seq: int | None) -> None: ...

    @property
    def segmenter(self) -> Segmenter:
        if self._segmenter is None:
            from nblabel.segmentation import GrabCutSegmenter

            self._segmenter = GrabCutSegmenter()
        return self._segmenter

    def segment(self, prompt: Prompt, req: int = 0) -> tuple[Box, bytes] | None:
        """Run the segmenter on the image on screen; the mask (or why there is none) goes to
        the browser as a draft that ``accept_mask`` keeps."""
        from nblabel.segmentation import SegmentationError, mask_label

        state = self._current()
        sid = state.sample_id
        self._segmented = True
        try:
            if self._full_image is None or self._full_image[0] != sid:
                self._full_image = (sid, load_rgb(state.filepath))
            image = self._full_image[1]
            mask = self.segmenter.segment(image, prompt, key=sid)
            box, png = mask_label(mask, self.segmenter.name)
        except (SegmentationError, ImageLoadError) as exc:
            self._draft = None
            self.message = f"no mask: {exc}"
            self.send({"kind": "mask", "sample_id": sid, "req": req, "box": None,
                       "error": str(exc)}, [])
            return None
        self._draft = (sid, box, png)
        self.send({"kind": "mask", "sample_id": sid, "req": req, "box": rounded_box(box),
                   "error": None}, [png])
        return box, png

    def accept_mask(self, label: str, seconds: float | None = None,
                    seq: int | None = None) -> Decision | None:
        """Keep the draft mask as a new object of class ``label`` (an ``added`` decision)."""
        draft = self._draft
        if draft is None or self.state is None or draft[0] != self.state.sample_id:
            self.message = "no mask to accept: click on an object first (s, then click)"
            self._ack(seq)
            return None
        self._draft = None
        _, box, png = draft
        d = self.session.add(self.state, label, box, seconds_on_image=self._seconds(seconds),
                             mask=png)
        self._changed([d], select=d.key, seq=seq)
        return d

    def paint_mask(self, key: str, stroke: Sequence[Sequence[float]], radius: float,
                   erase: bool = False, seq: int | None = None) -> Decision | None:
        """One brush (or eraser) stroke on the mask of the selected box (a proposal's or one
        drawn here; a box without a mask starts an empty one): the stroke's discs are added
        to (taken from) its mask and the box follows the mask; one decision, one undo step."""
        import cv2
        import numpy as np

        found = self._editable(key, seq, "the brush paints the selected box's mask")
        if found is None:
            return None
        state, mask = found
        size = state.size
        assert size is not None
        canvas = (mask if mask is not None
                  else np.zeros((size.height, size.width), bool)).astype(np.uint8)
        pts = [(round(float(x)), round(float(y))) for x, y in stroke]
        r = max(1, round(float(radius)))
        for a, b in zip(pts, pts[1:] or pts, strict=False):
            cv2.line(canvas, a, b, 0 if erase else 1, 2 * r)
            cv2.circle(canvas, b, r, 0 if erase else 1, -1)
        if pts:
            cv2.circle(canvas, pts[0], r, 0 if erase else 1, -1)
        return self._set_mask(state, key, canvas > 0, "the eraser", seq)

    def _editable(self, key: str, seq: int | None, what: str
                  ) -> tuple[SampleState, Any] | None:
        """The image on screen and the current whole-image mask of ``key`` (``None`` if it
        has none) for an edit; ``None`` (the message sent, the browser answered) when the image
        cannot be edited or ``key`` is not on it."""
        state = self._current()
        if state.size is None:
            self._ack(seq)
            return None
        try:
            return state, self.session.mask_of(state, key)
        except KeyError:
            self.message = f"select a box first: {what}"
            self._ack(seq)
            return None

    def _set_mask(self, state: SampleState, key: str, mask: Any, source: str,
                  seq: int | None) -> Decision | None:
        from nblabel.segmentation import SegmentationError

        try:
            d = self.session.set_mask(state, key, mask, source=source,
                                      seconds_on_image=self.seconds_on_image())
        except SegmentationError as exc:
            self.message = f"{exc}: reject the box to delete it"
            self._ack(seq)
            return None
        except InvalidLabelError as exc:
            self.message = str(exc)
            self._ack(seq)
            return None
        self._changed([d], select=d.key, seq=seq)
        return d

    def polygon(self, key: str) -> list[tuple[float, float]] | None:
        """The selected mask's largest part as a polygon to edit (sent to the browser); a box
        without a mask gives its four corners, so a polygon can start a mask."""
        from nblabel.core.masks import editable_polygon

        state = self._current()
        points: list[tuple[float, float]] | None = None
        try:
            mask = self.session.mask_of(state, key)
            if mask is not None and mask.any():
                points = editable_polygon(mask)
            else:
                b = self.session.box_of(state, key)
                points = [(b.x, b.y), (b.x2, b.y), (b.x2, b.y2), (b.x, b.y2)]
        except KeyError:
            pass
        error = None if points else "select a box first: g edits the selected box's mask"
        if error:
            self.message = error
        self.send({"kind": "polygon", "sample_id": state.sample_id, "key": key,
                   "points": [[round(x, 2), round(y, 2)] for x, y in points or []],
                   "error": error}, [])
        return points

    def set_polygon(self, key: str, points: Sequence[Sequence[float]],
                    seq: int | None = None) -> Decision | None:
        """The mask edited as a polygon: the polygon's inside replaces the mask's largest part
        (other parts are kept); one decision, one undo step."""
        from nblabel.core.masks import fill_polygon, largest_part

        pts = [(float(x), float(y)) for x, y in points]
        if len(pts) < 3:
            self.message = f"a polygon needs 3 corners or more, got {len(pts)}"
            self._ack(seq)
            return None
        found = self._editable(key, seq, "g edits the selected box's mask")
        if found is None:
            return None
        state, old = found
        assert state.size is not None
        mask = fill_polygon(pts, state.size)
        if old is not None:
            mask |= old & ~largest_part(old)
        return self._set_mask(state, key, mask, "the polygon", seq)

    def _on_polygon(self, content: dict[str, Any], seq: int | None) -> None:
        self.polygon(str(content.get("key", "")))

    def _on_set_polygon(self, content: dict[str, Any], seq: int | None) -> None:
        self.set_polygon(str(content.get("key", "")), content.get("points") or [], seq)

    def _on_paint(self, content: dict[str, Any], seq: int | None) -> None:
        self.paint_mask(str(content.get("key", "")), content.get("stroke") or [],
                        float(content.get("radius", 4)), bool(content.get("erase")), seq)

    def _on_segment(self, content: dict[str, Any], seq: int | None) -> None:
        raw_box = content.get("box")
        points = tuple((float(x), float(y), bool(pos)) for x, y, pos in content.get("points", []))
        try:
            box = Box(*(float(v) for v in raw_box)) if raw_box else None
        except InvalidLabelError as exc:
            self.message = f"no mask: {exc}"
            return
        self.segment(Prompt(box, points), int(content.get("req", 0)))

    def _on_accept_mask(self, content: dict[str, Any], seq: int | None) -> None:
        self.accept_mask(str(content.get("label") or (self.classes or ["object"])[0]),
                         content.get("seconds"), seq)
