"""The volume widget: a DICOM series or NIfTI volume, slice by slice, reviewed as photos are.

Python decides (the boxes on each slice, what an action changes, which slice comes next) and
the browser displays: slices are read here one at a time (:mod:`nblabel.core.volume`) and
sent ahead as 16-bit pixels (deflated, see :func:`_wire`; or raw 32-bit floats), so
window/level is applied in the browser (presets by key, or dragged with the right mouse
button) with no round trip; slice stepping
(keys and a slider) uses the slices sent ahead. Decisions go through a
:class:`~nblabel.reviewing.editor.session.ReviewSession` over the series' slice samples: journaled,
undoable, synced to FiftyOne as any image's, with the series and instance on each slice sample.

The traits and message kinds are declared once in ``js/src/volume/types.ts``; the keys in
``js/src/volume/keys.json`` (shipped as ``nblabel/static/volumekeys.json``).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import traitlets

from nblabel.core.images import decode_mask
from nblabel.core.labels import Action, Box, ImageSize
from nblabel.core.masks import full_mask, largest_polygon
from nblabel.core.volume import PRESETS, Volume, VolumeError
from nblabel.reviewing.editor.base import EditorWidget, Handler
from nblabel.reviewing.editor.contract import STATIC, default_label, media_window
from nblabel.reviewing.editor.loading import SampleState, UnusableLabel, parse_detection
from nblabel.reviewing.editor.media import MediaWorker
from nblabel.reviewing.editor.session import ReviewSession
from nblabel.store import shim
from nblabel.store.claims import Claims

__all__ = ["VolumeReviewWidget"]

log = logging.getLogger(__name__)
STATUS = {None: 0, Action.ACCEPTED: 1, Action.REJECTED: 2, Action.EDITED: 3, Action.ADDED: 4}


def _wire(pixels: np.ndarray) -> tuple[str, bytes]:
    """A slice's bytes. Whole numbers that fit in 16 bits (CT, most MR) go as ``int16z``:
    the int16 bytes split into their low and high byte planes, then deflated (zlib level 1:
    about 6 ms for 512 x 512; 1.7 to 2.4 times fewer bytes on CT, the high plane being nearly
    constant), which the browser inflates natively. Anything else goes as raw ``float32``."""
    ints = pixels.astype("<i2")  # out of range or fractional values do not survive the cast
    if np.array_equal(ints, pixels):
        planes = ints.view(np.uint8).reshape(-1, 2).T
        return "int16z", zlib.compress(np.ascontiguousarray(planes).tobytes(), 1)
    return "float32", pixels.astype("<f4").tobytes()


class VolumeReviewWidget(EditorWidget):
    """Review a volume's slices in the notebook (keys: press ``?`` in the widget)."""

    _esm = STATIC / "volume.js"
    _css = STATIC / "volume.css"

    series = traitlets.Unicode("").tag(sync=True)
    modality = traitlets.Unicode("").tag(sync=True)
    n_slices = traitlets.Int(0).tag(sync=True)
    rows = traitlets.Int(0).tag(sync=True)
    cols = traitlets.Int(0).tag(sync=True)
    #: [slice, row, column] spacing in mm (the canvas keeps the pixels' aspect).
    spacing = traitlets.List(traitlets.Float()).tag(sync=True)
    #: The slice shown (the browser saves it when stepping stops; set it to jump there).
    slice = traitlets.Int(0).tag(sync=True)
    #: [centre, width] of the window (the browser saves it after a drag or a preset).
    window = traitlets.List(traitlets.Float()).tag(sync=True)
    presets = traitlets.Dict().tag(sync=True)
    #: The classes offered for a drawn or relabeled box (the session's, then those proposed).
    classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: Slices with proposals still pending, and slices reviewed (indices).
    pending = traitlets.List(traitlets.Int()).tag(sync=True)
    done = traitlets.List(traitlets.Int()).tag(sync=True)

    def __init__(self, session: ReviewSession, volume: Volume, slice_ids: list[str],
                 claims: Claims | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: The reviewer's claim on the series' slices (released on close).
        self.claims = claims
        self.session, self.volume, self.ids = session, volume, slice_ids
        self.size = ImageSize(volume.cols, volume.rows)
        self.series, self.modality = volume.series_uid, volume.modality
        self.n_slices, self.rows, self.cols = len(volume), volume.rows, volume.cols
        self.spacing = [float(s) for s in volume.spacing]
        self.presets = {name: list(cw) for name, cw in PRESETS.items()}
        self._states: dict[int, SampleState] = {}
        try:
            self.window = list(volume.default_window())
        except VolumeError as exc:
            self.window, self.message = [40.0, 400.0], str(exc)
        self._refresh_progress()
        self.slice = self.pending[0] if self.pending else 0
        self.select_pending(self.slice)
        if volume.problems:
            self.message = "; ".join(volume.problems[:2])
        self.classes = list(session.classes)
        self.attributes = session.attributes.to_dict()
        self.media: MediaWorker[tuple[str, bytes]] = MediaWorker(
            media_window("volume"), self._read, self._send_slices,
            lambda text: setattr(self, "message", text), (VolumeError,))

    # -- slices as review states --------------------------------------------------------------

    def state(self, k: int) -> SampleState:
        """Slice ``k`` as a review state: its proposals in slice pixels (image not loaded:
        the browser paints the raw slice). Every slice's proposals are read at once, the
        first time one is asked for."""
        if not self._states:
            pf = self.session.field
            (raws,) = shim.raw_values(self.session.dataset.select(self.ids, ordered=True), [pf])
            for j, (sid, raw) in enumerate(zip(self.ids, raws, strict=True)):
                props: list[Any] = []
                unusable: list[UnusableLabel] = []
                for d in (raw or {}).get("detections") or []:
                    parsed = parse_detection(d, self.size, sid, pf)
                    if isinstance(parsed, UnusableLabel):
                        unusable.append(parsed)
                    else:
                        props.append(parsed)
                self._states[j] = SampleState(sid, self.volume.slices[j].path, None, None,
                                              self.size, tuple(props), None, tuple(unusable))
        return self._states[k]

    def boxes_on(self, k: int) -> list[list[Any]]:
        """``[key, label, x, y, w, h, status, confidence, outline, attributes]`` of slice
        ``k``: proposals with their latest decision, and boxes drawn by hand (rejected ones
        included)."""
        st = self.state(k)
        decided = self.session.decisions(st.sample_id)
        out = []
        for p in st.proposals:
            d = decided.get(p.id)
            box, label = (d.box, d.label) if d is not None and d.box is not None else \
                (p.box, p.label)
            mask = d.mask if d is not None and d.mask is not None else p.mask
            out.append(self._row(p.id, label or p.label, box, STATUS[d.action if d else None],
                                 p.confidence, mask, d.attributes if d is not None else None))
        for key, d in decided.items():
            if d.proposal is None and d.box is not None and d.label:
                out.append(self._row(key, d.label, d.box, 4, None, d.mask, d.attributes))
        return out

    def _row(self, key: str, label: str, box: Box, status: int, conf: float | None,
             mask: bytes | None, attributes: Any = None) -> list[Any]:
        outline: list[list[float]] | None = None
        if mask is not None:
            whole = full_mask(np.asarray(decode_mask(mask)), box, self.size)
            outline = [[round(x, 1), round(y, 1)] for x, y in largest_polygon(whole, 0.75)]
        return [key, label, *(round(v, 2) for v in box.as_list()), status,
                None if conf is None else round(conf, 3), outline,
                dict(attributes) if attributes else None]

    def _refresh_progress(self) -> None:
        pending, done = [], []
        for k in range(len(self.ids)):
            if self.session.progress.is_reviewed(self.ids[k]):
                done.append(k)
                continue
            st = self.state(k)
            decided = self.session.decisions(st.sample_id)
            if any(p.id not in decided for p in st.proposals):
                pending.append(k)
        self.pending, self.done = pending, done

    # -- messages ------------------------------------------------------------------------------

    def _on_hello(self, content: dict[str, Any], seq: int | None) -> None:
        pass

    def _on_want(self, content: dict[str, Any], seq: int | None) -> None:
        self.media.want(int(content.get("slice", 0)), content.get("missing", []))

    def _on_act(self, c: dict[str, Any], seq: int | None) -> None:
        action = str(c.get("action"))
        k = int(c.get("slice", self.slice))
        touched = act(self, self.session, action, k, str(c.get("key") or self.selected), c)
        self._refresh_progress()
        if action == "complete":
            later = [p for p in self.pending if p > k] or self.pending
            self.slice = later[0] if later else k
            self.select_pending(self.slice)
        elif action in ("accept", "reject", "relabel", "accept_rest"):
            self.select_pending(k)  # on to the next pending box of the slice
        self.message = ""
        self.send({"kind": "boxes", "slices": {str(t): self.boxes_on(t) for t in touched}})
        self.answer(seq)

    def select_pending(self, k: int) -> None:
        """Select the first pending box of slice ``k`` (keep the selection when none is)."""
        pending = [b[0] for b in self.boxes_on(k) if b[6] == 0]
        if pending:
            self.selected = pending[0]

    def new_label(self, st: SampleState) -> str:
        """A drawn box's class when none is picked: the slice's commonest, the session's first,
        else the default."""
        labels = [p.label for p in st.proposals] or self.session.classes or [default_label()]
        return max(set(labels), key=labels.count)

    # -- slices ahead (on the media worker's thread) -------------------------------------------

    def _read(self, k: int) -> tuple[str, bytes]:
        return _wire(self.volume.pixels(k))

    def _send_slices(self, batch: Sequence[tuple[int, tuple[str, bytes]]]) -> None:
        sent = [k for k, _ in batch]
        self.send({"kind": "slices", "numbers": sent, "dtypes": [kind for _, (kind, _) in batch],
                   "boxes": {str(k): self.boxes_on(k) for k in sent}},
                  [data for _, (_, data) in batch])

    def on_close(self) -> None:
        self.media.close()
        if self.claims is not None:
            self.claims.release(self.ids)

    HANDLERS: ClassVar[Mapping[str, Handler]] = {
        "hello": _on_hello, "want": _on_want, "act": _on_act}
    SENT_KINDS = ("slices", "boxes", "answer")


def act(w: VolumeReviewWidget, s: ReviewSession, action: str, k: int, key: str,
        c: dict[str, Any]) -> set[int]:
    """Apply one box action on slice ``k``; the slices whose boxes it changed."""
    touched = {k}
    st = w.state(k)
    if action in ("accept", "reject"):
        s.decide(st, key, Action.ACCEPTED if action == "accept" else Action.REJECTED)
    elif action == "fix":
        s.decide(st, key, Action.EDITED, box=Box(*(float(v) for v in c["box"])))
    elif action == "relabel":
        s.decide(st, key, Action.EDITED, label=str(c["label"]))
    elif action == "attributes":
        s.set_attributes(st, key, dict(c["values"]))
    elif action == "add":
        made = s.add(st, str(c.get("label") or "") or w.new_label(st),
                     Box(*(float(v) for v in c["box"])))
        w.selected = made.key
    elif action == "accept_rest":
        decided = s.decisions(st.sample_id)
        rest = [p.id for p in st.proposals if p.id not in decided]
        if rest:
            s.decide_many(st, rest, Action.ACCEPTED)
    elif action == "complete":
        s.complete(st.sample_id)
    elif action in ("undo", "redo"):
        changed = getattr(s, action)()
        if not changed:
            raise ValueError(f"nothing to {action}")
        touched |= {w.ids.index(d.sample_id) for d in changed if d.sample_id in w.ids}
    else:
        raise ValueError(f"unknown action {action!r}")
    return touched


#: Every message kind the browser sends (``VolumeToPython`` in js/src/volume/types.ts).
RECEIVED_KINDS = tuple(VolumeReviewWidget.HANDLERS)
#: Every message kind Python sends (``VolumeFromPython``).
SENT_KINDS = VolumeReviewWidget.SENT_KINDS
