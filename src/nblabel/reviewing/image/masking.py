"""Making and editing masks in the widget: click to mask (key ``s``), brush and eraser (``e``),
polygon editing (``g``). :class:`MaskEditor` works for the review widget through a small host
protocol (:class:`MaskHost`: the session, the image on screen, the message line and the
answers), as ``masktools.ts`` does in the browser; every edit is one decision, one undo step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from nblabel.core.images import ImageLoadError, load_rgb
from nblabel.core.labels import Box, Decision, InvalidLabelError
from nblabel.reviewing.editor.contract import default_label
from nblabel.reviewing.editor.decisions import mask_of, standing
from nblabel.reviewing.image.rows import rounded_box
from nblabel.segmentation.base import Prompt, Segmenter

if TYPE_CHECKING:
    from nblabel.reviewing.editor.session import ReviewSession, SampleState

__all__ = ["MaskEditor", "MaskHost"]


class MaskHost(Protocol):
    """What the mask tools need of the widget."""

    session: ReviewSession
    state: SampleState | None
    message: str
    classes: list[str]

    def send(self, content: dict[str, Any], buffers: Sequence[bytes] | None = None) -> None: ...
    def current(self) -> SampleState: ...
    def seconds(self, seconds: float | None = None) -> float: ...
    def answer(self, seq: int | None, error: str | None = None) -> None: ...
    def changed(self, decisions: Sequence[Decision], *, select: str | None,
                seq: int | None) -> None: ...


class MaskEditor:
    """Click to mask, brush and polygon editing (see the module doc)."""

    def __init__(self, host: MaskHost, segmenter: Segmenter | None = None) -> None:
        self.host = host
        #: GrabCut unless a segmenter is given (e.g. a SAMSegmenter when its weights are here).
        self._segmenter = segmenter
        #: The mask the last prompt made and not yet accepted: (sample id, box, PNG).
        self._draft: tuple[str, Box, bytes] | None = None
        self._full_image: tuple[str, Any] | None = None  # the image segmented on, full size
        #: Click to mask is in use: the widget prepares the next images ahead.
        self.in_use = False

    def prepare_ahead(self, state: SampleState) -> None:
        """Once click to mask is in use, the segmenter's per-image work (a SAM encoder) is done
        ahead for an image sent ahead (in the prefetch thread)."""
        if (self.in_use and state.image is not None
                and getattr(self.segmenter, "prepares_ahead", True)):
            self.segmenter.prepare(load_rgb(state.filepath), key=state.sample_id)

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

        state = self.host.current()
        sid = state.sample_id
        self.in_use = True
        try:
            if self._full_image is None or self._full_image[0] != sid:
                self._full_image = (sid, load_rgb(state.filepath))
            image = self._full_image[1]
            mask = self.segmenter.segment(image, prompt, key=sid)
            box, png = mask_label(mask, self.segmenter.name)
        except (SegmentationError, ImageLoadError) as exc:
            self._draft = None
            self.host.message = f"no mask: {exc}"
            self.host.send({"kind": "mask", "sample_id": sid, "req": req, "box": None,
                       "error": str(exc)}, [])
            return None
        self._draft = (sid, box, png)
        self.host.send({"kind": "mask", "sample_id": sid, "req": req, "box": rounded_box(box),
                   "error": None}, [png])
        return box, png

    def accept_mask(self, label: str, seconds: float | None = None,
                    seq: int | None = None) -> Decision | None:
        """Keep the draft mask as a new object of class ``label`` (an ``added`` decision)."""
        draft = self._draft
        if draft is None or self.host.state is None or draft[0] != self.host.state.sample_id:
            self.host.message = "no mask to accept: click on an object first (s, then click)"
            self.host.answer(seq)
            return None
        self._draft = None
        _, box, png = draft
        d = self.host.session.add(self.host.state, label, box,
                                  seconds_on_image=self.host.seconds(seconds), mask=png)
        self.host.changed([d], select=d.key, seq=seq)
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
        state = self.host.current()
        if state.size is None:
            self.host.answer(seq)
            return None
        try:
            return state, mask_of(state, self.host.session.decisions(state.sample_id), key)
        except KeyError:
            self.host.message = f"select a box first: {what}"
            self.host.answer(seq)
            return None

    def _set_mask(self, state: SampleState, key: str, mask: Any, source: str,
                  seq: int | None) -> Decision | None:
        from nblabel.segmentation import SegmentationError

        try:
            d = self.host.session.set_mask(state, key, mask, source=source,
                                      seconds_on_image=self.host.seconds())
        except SegmentationError as exc:
            self.host.message = f"{exc}: reject the box to delete it"
            self.host.answer(seq)
            return None
        except InvalidLabelError as exc:
            self.host.message = str(exc)
            self.host.answer(seq)
            return None
        self.host.changed([d], select=d.key, seq=seq)
        return d

    def polygon(self, key: str) -> list[tuple[float, float]] | None:
        """The selected mask's largest part as a polygon to edit (sent to the browser); a box
        without a mask gives its four corners, so a polygon can start a mask."""
        from nblabel.core.masks import editable_polygon

        state = self.host.current()
        points: list[tuple[float, float]] | None = None
        try:
            decided = self.host.session.decisions(state.sample_id)
            mask = mask_of(state, decided, key)
            if mask is not None and mask.any():
                points = editable_polygon(mask)
            else:
                b = standing(state, decided, key)[0]
                points = [(b.x, b.y), (b.x2, b.y), (b.x2, b.y2), (b.x, b.y2)]
        except KeyError:
            pass
        error = None if points else "select a box first: g edits the selected box's mask"
        if error:
            self.host.message = error
        self.host.send({"kind": "polygon", "sample_id": state.sample_id, "key": key,
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
            self.host.message = f"a polygon needs 3 corners or more, got {len(pts)}"
            self.host.answer(seq)
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

    def on_polygon(self, content: dict[str, Any], seq: int | None) -> None:
        self.polygon(str(content.get("key", "")))

    def on_set_polygon(self, content: dict[str, Any], seq: int | None) -> None:
        self.set_polygon(str(content.get("key", "")), content.get("points") or [], seq)

    def on_paint(self, content: dict[str, Any], seq: int | None) -> None:
        self.paint_mask(str(content.get("key", "")), content.get("stroke") or [],
                        float(content.get("radius", 4)), bool(content.get("erase")), seq)

    def on_segment(self, content: dict[str, Any], seq: int | None) -> None:
        raw_box = content.get("box")
        points = tuple((float(x), float(y), bool(pos)) for x, y, pos in content.get("points", []))
        try:
            box = Box(*(float(v) for v in raw_box)) if raw_box else None
        except InvalidLabelError as exc:
            self.host.message = f"no mask: {exc}"
            return
        self.segment(Prompt(box, points), int(content.get("req", 0)))

    def on_accept_mask(self, content: dict[str, Any], seq: int | None) -> None:
        self.accept_mask(str(content.get("label") or (self.host.classes or [default_label()])[0]),
                         content.get("seconds"), seq)
