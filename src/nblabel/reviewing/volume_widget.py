"""The volume widget: a DICOM series or NIfTI volume, slice by slice, reviewed as photos are.

Python decides (the boxes on each slice, what an action changes, which slice comes next) and
the browser displays: slices are read here one at a time (:mod:`nblabel.core.volume`) and
sent ahead as 16-bit pixels (deflated, see :func:`_wire`; or raw 32-bit floats), so
window/level is applied in the browser (presets by key, or dragged with the right mouse
button) with no round trip; slice stepping
(keys and a slider) uses the slices sent ahead. Decisions go through a
:class:`~nblabel.reviewing.session.ReviewSession` over the series' slice samples: journaled,
undoable, synced to FiftyOne as any image's, with the series and instance on each slice sample.

The traits and message kinds are declared once in ``js/src/volume/types.ts``; the keys in
``js/src/volume/keys.json`` (shipped as ``nblabel/static/volumekeys.json``).
"""

from __future__ import annotations

import logging
import threading
import zlib
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from nblabel.core.images import decode_mask
from nblabel.core.labels import Action, Box, ImageSize
from nblabel.core.masks import full_mask, largest_polygon
from nblabel.core.volume import PRESETS, Volume, VolumeError
from nblabel.reviewing.loading import SampleState, UnusableLabel, parse_detection
from nblabel.reviewing.session import ReviewSession
from nblabel.store import shim

__all__ = ["VolumeReviewWidget"]

log = logging.getLogger(__name__)
_STATIC = Path(__file__).parents[1] / "static"
#: Slices sent per message, and kept around the one shown (behind, ahead).
CHUNK, BEHIND, AHEAD = 2, 16, 40
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


class VolumeReviewWidget(anywidget.AnyWidget):
    """Review a volume's slices in the notebook (keys: press ``?`` in the widget)."""

    _esm = _STATIC / "volume.js"
    _css = _STATIC / "volume.css"

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
    selected = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    #: Slices with proposals still pending, and slices reviewed (indices).
    pending = traitlets.List(traitlets.Int()).tag(sync=True)
    done = traitlets.List(traitlets.Int()).tag(sync=True)

    def __init__(self, session: ReviewSession, volume: Volume, slice_ids: list[str],
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session, self.volume, self.ids = session, volume, slice_ids
        self.size = ImageSize(volume.cols, volume.rows)
        self.series, self.modality = volume.series_uid, volume.modality
        self.n_slices, self.rows, self.cols = len(volume), volume.rows, volume.cols
        self.spacing = [float(s) for s in volume.spacing]
        self.presets = {name: list(cw) for name, cw in PRESETS.items()}
        self._states: dict[int, SampleState] = {}
        self._lock = threading.Lock()
        self._want, self._missing = 0, set[int]()
        self._wake = threading.Event()
        self._closed = False
        try:
            self.window = list(volume.default_window())
        except VolumeError as exc:
            self.window, self.message = [40.0, 400.0], str(exc)
        self._refresh_progress()
        self.slice = self.pending[0] if self.pending else 0
        if volume.problems:
            self.message = "; ".join(volume.problems[:2])
        self._worker = threading.Thread(target=self._serve, daemon=True)
        self._worker.start()
        self.on_msg(lambda _w, content, _buffers: self._on_msg(content))

    # -- slices as review states --------------------------------------------------------------

    def state(self, k: int) -> SampleState:
        """Slice ``k`` as a review state: its proposals in slice pixels (image not loaded:
        the browser paints the raw slice). Every slice's proposals are read at once, the
        first time one is asked for."""
        if not self._states:
            pf = self.session.predictions_field
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
        """``[key, label, x, y, w, h, status, confidence, outline]`` of slice ``k``: proposals
        with their latest decision, and boxes drawn by hand (rejected ones included)."""
        st = self.state(k)
        decided = self.session.decisions(st.sample_id)
        out = []
        for p in st.proposals:
            d = decided.get(p.id)
            box, label = (d.box, d.label) if d is not None and d.box is not None else \
                (p.box, p.label)
            mask = d.mask if d is not None and d.mask is not None else p.mask
            out.append(self._row(p.id, label or p.label, box, STATUS[d.action if d else None],
                                 p.confidence, mask))
        for key, d in decided.items():
            if d.proposal is None and d.box is not None and d.label:
                out.append(self._row(key, d.label, d.box, 4, None, d.mask))
        return out

    def _row(self, key: str, label: str, box: Box, status: int, conf: float | None,
             mask: bytes | None) -> list[Any]:
        outline: list[list[float]] | None = None
        if mask is not None:
            whole = full_mask(np.asarray(decode_mask(mask)), box, self.size)
            outline = [[round(x, 1), round(y, 1)] for x, y in largest_polygon(whole, 0.75)]
        return [key, label, *(round(v, 2) for v in box.as_list()), status,
                None if conf is None else round(conf, 3), outline]

    def _refresh_progress(self) -> None:
        pending, done = [], []
        for k in range(len(self.ids)):
            if self.session.is_reviewed(self.ids[k]):
                done.append(k)
                continue
            st = self.state(k)
            decided = self.session.decisions(st.sample_id)
            if any(p.id not in decided for p in st.proposals):
                pending.append(k)
        self.pending, self.done = pending, done

    # -- messages ------------------------------------------------------------------------------

    def _on_msg(self, content: dict[str, Any]) -> None:
        kind = str(content.get("kind"))
        if kind == "want":
            with self._lock:
                self._want = int(content.get("slice", 0))
                self._missing.update(int(k) for k in content.get("missing", []))
            self._wake.set()
        elif kind == "act":
            self._on_act(content)
        elif kind != "hello":
            self.message = f"not understood: a message of kind {kind!r}"

    def _on_act(self, c: dict[str, Any]) -> None:
        seq, action = c.get("seq"), str(c.get("action"))
        k = int(c.get("slice", self.slice))
        key = str(c.get("key") or self.selected)
        s = self.session
        touched = {k}
        try:
            st = self.state(k)
            if action in ("accept", "reject"):
                s.decide(st, key, Action.ACCEPTED if action == "accept" else Action.REJECTED)
            elif action == "fix":
                s.decide(st, key, Action.EDITED, box=Box(*(float(v) for v in c["box"])))
            elif action == "add":
                labels = [p.label for p in st.proposals] or s.classes or ["lesion"]
                made = s.add(st, max(set(labels), key=labels.count),
                             Box(*(float(v) for v in c["box"])))
                self.selected = made.key
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
                touched |= {self.ids.index(d.sample_id) for d in changed
                            if d.sample_id in self.ids}
            else:
                raise ValueError(f"unknown action {action!r}")
        except (ValueError, KeyError, TypeError) as exc:
            self.message = f"not done: {exc}"
            self.send({"kind": "answer", "seq": seq, "error": self.message})
            return
        self._refresh_progress()
        if action == "complete":
            later = [p for p in self.pending if p > k] or self.pending
            self.slice = later[0] if later else k
        self.message = ""
        self.send({"kind": "boxes", "slices": {str(t): self.boxes_on(t) for t in touched}})
        self.send({"kind": "answer", "seq": seq, "error": None})

    # -- slices ahead (a worker thread: the kernel stays free) ---------------------------------

    def _serve(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                want, missing = self._want, sorted(self._missing,
                                                   key=lambda k: abs(k - self._want))
                self._missing.clear()
            try:
                for start in range(0, len(missing), CHUNK):
                    near = [k for k in missing[start:start + CHUNK]
                            if want - BEHIND <= k <= want + AHEAD]
                    if near:
                        self._send_slices(near)
            except Exception as exc:  # a closed comm, a dead kernel: nothing to send to
                log.exception("slices could not be sent")
                self.message = f"slices could not be sent: {exc}"

    def _send_slices(self, numbers: list[int]) -> None:
        buffers, sent, kinds = [], [], []
        for k in numbers:
            try:
                kind, data = _wire(self.volume.pixels(k))
            except VolumeError as exc:  # named; the other slices go on
                self.message = str(exc)
                continue
            sent.append(k)
            kinds.append(kind)
            buffers.append(data)
        if sent:
            self.send({"kind": "slices", "numbers": sent, "dtypes": kinds,
                       "boxes": {str(k): self.boxes_on(k) for k in sent}}, buffers)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        super().close()


#: Every message kind the browser sends (``VolumeToPython`` in js/src/volume/types.ts).
RECEIVED_KINDS = ("hello", "want", "act")
#: Every message kind Python sends (``VolumeFromPython``).
SENT_KINDS = ("slices", "boxes", "answer")
