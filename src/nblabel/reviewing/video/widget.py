"""The video review widget: one video, reviewed a track at a time (see docs/video.md).

Python decides (the track order, the boxes on each frame, what an action changes) and the
browser displays: frames are decoded here with PyAV, encoded as JPEG and sent ahead as binary
(the browser asks for the frames around the one it shows that it lacks, and steps through them
without waiting for the kernel); the timeline, frame stepping, play and box dragging stay in
the browser; every action is one message, one :class:`~nblabel.reviewing.video.tracks.TrackReview`
call (journaled, undoable) and an answer with the boxes it changed.

The traits and message kinds are declared once in ``js/src/video/types.ts``; the keys in
``js/src/video/keys.json`` (shipped as ``nblabel/static/videokeys.json``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import traitlets

from nblabel.core.labels import STATUSES
from nblabel.core.track_edits import Track
from nblabel.core.video import VideoError, VideoReader, probe
from nblabel.reviewing.editor.base import EditorWidget, Handler
from nblabel.reviewing.editor.contract import (
    STATIC,
    MediaWindow,
    contract,
    default_label,
    media_window,
)
from nblabel.reviewing.editor.media import MediaWorker
from nblabel.reviewing.video.tracks import TrackReview

__all__ = ["VideoReviewWidget"]

log = logging.getLogger(__name__)

#: Confidence segments per track on the timeline.
SEGMENTS = 32


def _encode(image: np.ndarray, quality: int = 85, max_side: int | None = None) -> bytes:
    """JPEG of a frame at most ``max_side`` pixels wide or high (the contract's
    ``frame_max_side`` when None: the widget's canvas at fit; a zoomed view asks for the full
    frame, ``max_side=0``). Boxes stay in video pixels."""
    import cv2

    h, w = image.shape[:2]
    side = int(contract()["frame_max_side"]) if max_side is None else max_side
    if side and max(h, w) > side:
        s = side / max(h, w)
        image = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise ValueError("a frame could not be encoded")
    return bytes(buf)


class FrameDecoder:
    """Frames of one video decoded in order from where the last one stopped when the next
    asked for is at most ``reach`` ahead (a reviewer stepping or playing asks for the next
    frames each time, so a keyframe is sought only after a jump). One per stream of frames (the
    frames sent ahead, the full-resolution frame of a zoomed view), so neither moves the
    other's place."""

    def __init__(self, reader: VideoReader, reach: int) -> None:
        self.reader, self.reach = reader, reach
        self._decoder: Iterator[tuple[int, np.ndarray]] | None = None
        self._next = 0
        self._lock = threading.Lock()

    def frame(self, f: int) -> np.ndarray | None:
        """Frame ``f`` (None past the last)."""
        with self._lock:
            if self._decoder is None or not 0 <= f - self._next < self.reach:
                self._decoder = self.reader.frames(f)
                self._next = f
            for n, image in self._decoder:
                self._next = n + 1
                if n == f:
                    return image
            self._decoder = None
            return None


def track_summary(t: Track, score: float, flagged: Sequence[int]) -> dict[str, Any]:
    """What the timeline draws for a track: its span, status, suspicion, keyframes and its
    confidence in ``SEGMENTS`` pieces (mean of each; None where it has none)."""
    frames = t.frames
    pieces: list[float | None] = []
    for chunk in np.array_split(np.array(frames), min(SEGMENTS, len(frames))):
        values = [c for f in chunk if (c := t.confidence.get(int(f))) is not None]
        pieces.append(round(float(np.mean(values)), 3) if values else None)
    return {"id": t.id, "label": t.label, "status": t.status, "first": t.first, "last": t.last,
            "score": round(score, 3), "flags": list(flagged[:200]),
            "keyframes": sorted(t.keyframes), "conf": pieces,
            "attributes": dict(t.attributes) or None}


class VideoReviewWidget(EditorWidget):
    """Review ``session``'s video in the notebook (keys: press ``?`` in the widget)."""

    _esm = STATIC / "video.js"
    _css = STATIC / "video.css"

    sample_id = traitlets.Unicode("").tag(sync=True)
    filename = traitlets.Unicode("").tag(sync=True)
    total_frames = traitlets.Int(0).tag(sync=True)
    width = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(0).tag(sync=True)
    fps = traitlets.Float(25.0).tag(sync=True)
    #: The frame shown (the browser saves it when stepping stops; set it to jump there).
    frame = traitlets.Int(1).tag(sync=True)
    #: Every track, most suspect pending first (:func:`track_summary`).
    tracks = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: The classes offered for a new or relabeled track (the video's, then the session's).
    classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    reviewed = traitlets.Bool(False).tag(sync=True)

    def __init__(self, session: TrackReview, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        path = session.dataset.select(session.sample_id).values("filepath")[0]
        try:
            self.reader: VideoReader | None = VideoReader(path, probe(path))
        except VideoError as exc:
            self.reader = None
            self.message = str(exc)
        info = self.reader.info if self.reader else None
        self.sample_id = session.sample_id
        self.attributes = session.attributes.to_dict()
        self.filename = Path(path).name
        self.total_frames = info.frame_count if info else 0
        self.width, self.height = (info.width, info.height) if info else (0, 0)
        self.fps = info.fps if info and info.fps else 25.0
        self._by_frame: dict[int, list[list[Any]]] = {}
        window = media_window("video")
        self._ahead = FrameDecoder(self.reader, 2 * window.ahead) if self.reader else None
        self._full = FrameDecoder(VideoReader(path, self.reader.info), 8) if self.reader else None
        self._refresh()
        if self.tracks:
            self.selected = self.tracks[0]["id"]
        if session.problems:
            self.message = "; ".join(session.problems[:3]) + (
                f" (and {len(session.problems) - 3} more)" if len(session.problems) > 3 else "")
        self.media: MediaWorker[bytes] = MediaWorker(
            window, self._read, self._send_batch, self._say, (VideoError,))
        #: The full-resolution frame of a zoomed view: only the latest asked for is decoded.
        self.full_media: MediaWorker[bytes] = MediaWorker(
            MediaWindow(chunk=1, behind=0, ahead=0, keep=1), self._read_full, self._send_full,
            self._say, (VideoError,))

    # -- state sent to the browser -----------------------------------------------------------

    def _refresh(self) -> None:
        r = self.session
        order = r.rank()
        self.tracks = [track_summary(r.tracks[t], r.suspicion[t].score,
                                     r.suspicion[t].frames()) for t in order]
        by: dict[int, list[list[Any]]] = {}
        for t in r.tracks.values():
            code = STATUSES.index(t.status)
            for f, b in t.boxes.items():
                conf = t.confidence.get(f)
                by.setdefault(f, []).append([t.id, *(round(v, 2) for v in b), code,
                                             None if conf is None else round(conf, 3)])
        self._by_frame = by
        labels = sorted({t.label for t in r.tracks.values()})
        self.classes = labels + [c for c in r.classes if c not in labels]
        self.reviewed = not r.pending

    def boxes_on(self, frame: int) -> list[list[Any]]:
        """``[track id, x, y, w, h, status code, confidence]`` of every box on ``frame``."""
        return self._by_frame.get(frame, [])

    # -- messages ------------------------------------------------------------------------------

    def _on_want(self, content: dict[str, Any], seq: int | None) -> None:
        self.media.want(int(content.get("frame", 1)), content.get("missing", []))

    def _on_hello(self, content: dict[str, Any], seq: int | None) -> None:
        self._refresh()

    def _on_full(self, content: dict[str, Any], seq: int | None) -> None:
        """The frame at full resolution (the view is zoomed past the frames sent ahead), on
        its own worker: the kernel stays free, a newer request drops an older one."""
        f = int(content["frame"])
        self.full_media.want(f, [f])

    def _on_act(self, c: dict[str, Any], seq: int | None) -> None:
        action = str(c.get("action"))
        r = self.session
        act(self, r, action, str(c.get("track") or self.selected),
            int(c.get("frame") or self.frame), c)
        self._refresh()
        if action in ("accept", "reject", "relabel") and r.pending:
            self.selected = r.pending[0]  # on to the next most suspect track
            self._show_selected()
        self.message = "video reviewed" if action == "complete" else ""
        self.answer(seq)
        self._send_boxes(self.frame)

    def _show_selected(self) -> None:
        """Move to the selected track's first frame when it has no box on the frame shown."""
        t = self.session.tracks.get(self.selected)
        if t is not None and t.boxes and self.frame not in t.boxes:
            self.frame = t.first

    def common_label(self) -> str:
        """The video's commonest class (a new track's when none is picked)."""
        labels = [t.label for t in self.session.tracks.values()]
        return max(set(labels), key=labels.count) if labels else default_label()

    def _send_boxes(self, around: int) -> None:
        w = self.media.window
        lo, hi = max(1, around - w.behind - w.ahead), min(self.total_frames, around + 2 * w.ahead)
        frames = {str(f): self.boxes_on(f) for f in range(lo, hi + 1)}
        self.send({"kind": "boxes", "frames": frames, "reset": True})

    # -- frames ahead (on the media worker's thread) --------------------------------------------

    def _say(self, text: str) -> None:
        self.message = text

    def _read(self, f: int) -> bytes | None:
        image = self._ahead.frame(f) if self._ahead else None
        return None if image is None else _encode(image)

    def _read_full(self, f: int) -> bytes | None:
        image = self._full.frame(f) if self._full else None
        return None if image is None else _encode(image, 90, max_side=0)

    def _send_full(self, batch: Sequence[tuple[int, bytes]]) -> None:
        for f, data in batch:
            self.send({"kind": "full", "frame": f}, [data])

    def _send_batch(self, batch: Sequence[tuple[int, bytes]]) -> None:
        numbers = [n for n, _ in batch]
        self.send({"kind": "frames", "numbers": numbers,
                   "boxes": {str(n): self.boxes_on(n) for n in numbers}},
                  [data for _, data in batch])

    def on_close(self) -> None:
        self.media.close()
        self.full_media.close()

    HANDLERS: ClassVar[Mapping[str, Handler]] = {
        "hello": _on_hello, "want": _on_want, "act": _on_act, "full": _on_full}
    SENT_KINDS = ("frames", "boxes", "full", "answer")


def act(w: VideoReviewWidget, r: TrackReview, action: str, tid: str, frame: int,
        c: dict[str, Any]) -> None:
    """Apply one track action from the browser (a refusal raises, named)."""
    if action in ("undo", "redo"):
        if not getattr(r, action)():
            raise ValueError(f"nothing to {action}")
    elif action == "accept_rest":
        r.accept_rest()
    elif action == "complete":
        r.complete()
    elif action == "new":  # the class picked, else the selected track's, else the commonest
        x, y, w_, h = (float(v) for v in c["box"])
        label = str(c.get("label") or "") or (
            r.tracks[tid].label if tid in r.tracks else w.common_label())
        (made,) = r.new_track(label, {frame: (x, y, w_, h)})
        w.selected = made.id
    elif tid not in r.tracks:
        raise ValueError(f"no track {tid!r} in this video")
    elif action in ("accept", "reject"):
        getattr(r, action)(tid)
    elif action in ("split", "end"):
        getattr(r, action)(tid, frame)
    elif action == "relabel":  # from the frame shown on when asked (Shift when picking)
        r.relabel(tid, str(c["label"]), frame if c.get("from_here") else None)
    elif action == "attributes":
        r.set_attributes(tid, dict(c["values"]))
    elif action == "bridge":
        start = int(c["start"])
        r.bridge(tid, min(start, frame), max(start, frame))
    elif action in ("merge", "swap"):
        other = str(c["other"])
        if other not in r.tracks:
            raise ValueError(f"no track {other!r} in this video")
        r.merge(tid, other) if action == "merge" else r.swap(tid, other, frame)
    elif action == "retrack":
        r.retrack(tid, frame, tuple(float(v) for v in c["box"]) if c.get("box")
                  else None)  # type: ignore[arg-type]
    elif action == "fix":
        x, y, w_, h = (float(v) for v in c["box"])
        r.fix_box(tid, frame, (x, y, w_, h))
    else:
        raise ValueError(f"unknown track action {action!r}")


#: Every message kind the browser sends (``VideoToPython`` in js/src/video/types.ts).
HANDLERS = VideoReviewWidget.HANDLERS
#: Every message kind Python sends (``VideoFromPython``).
SENT_KINDS = VideoReviewWidget.SENT_KINDS
