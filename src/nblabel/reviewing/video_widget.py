"""The video review widget: one video, reviewed a track at a time (see docs/video.md).

Python decides (the track order, the boxes on each frame, what an action changes) and the
browser displays: frames are decoded here with PyAV, encoded as JPEG and sent ahead as binary
(the browser asks for the frames around the one it shows that it lacks, and steps through them
without waiting for the kernel); the timeline, frame stepping, play and box dragging stay in
the browser; every action is one message, one :class:`~nblabel.reviewing.tracks.TrackReview`
call (journaled, undoable) and an answer with the boxes it changed.

The traits and message kinds are declared once in ``js/src/video/types.ts``; the keys in
``js/src/video/keys.json`` (shipped as ``nblabel/static/videokeys.json``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from nblabel.core.track_edits import STATUSES, Track
from nblabel.core.video import VideoError, VideoReader, probe
from nblabel.reviewing.tracks import TrackReview

__all__ = ["VideoReviewWidget"]

log = logging.getLogger(__name__)

_STATIC = Path(__file__).parents[1] / "static"
#: Frames sent per message, and around the frame shown (behind, ahead).
CHUNK, BEHIND, AHEAD = 8, 8, 40
#: Frames are sent at most this many pixels wide or high (``MAX_SIDE`` in view.ts).
MAX_SIDE = 1280
#: Confidence segments per track on the timeline.
SEGMENTS = 32


def _encode(image: np.ndarray, quality: int = 85) -> bytes:
    """JPEG of a frame at most :data:`MAX_SIDE` pixels wide or high (the widget's canvas;
    boxes stay in video pixels)."""
    import cv2

    h, w = image.shape[:2]
    if max(h, w) > MAX_SIDE:
        s = MAX_SIDE / max(h, w)
        image = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise ValueError("a frame could not be encoded")
    return bytes(buf)


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
            "keyframes": sorted(t.keyframes), "conf": pieces}


class VideoReviewWidget(anywidget.AnyWidget):
    """Review ``review``'s video in the notebook (keys: press ``?`` in the widget)."""

    _esm = _STATIC / "video.js"
    _css = _STATIC / "video.css"

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
    selected = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    reviewed = traitlets.Bool(False).tag(sync=True)

    def __init__(self, review: TrackReview, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.review = review
        path = review.dataset.select(review.sample_id).values("filepath")[0]
        try:
            self.reader: VideoReader | None = VideoReader(path, probe(path))
        except VideoError as exc:
            self.reader = None
            self.message = str(exc)
        info = self.reader.info if self.reader else None
        self.sample_id = review.sample_id
        self.filename = Path(path).name
        self.total_frames = info.frame_count if info else 0
        self.width, self.height = (info.width, info.height) if info else (0, 0)
        self.fps = info.fps if info and info.fps else 25.0
        self._lock = threading.Lock()
        self._want: int | None = None
        self._missing: set[int] = set()
        self._wake = threading.Event()
        self._closed = False
        self._by_frame: dict[int, list[list[Any]]] = {}
        self._decoder: Iterator[tuple[int, np.ndarray]] | None = None
        self._next = 0
        self._refresh()
        if self.tracks:
            self.selected = self.tracks[0]["id"]
        if review.problems:
            self.message = "; ".join(review.problems[:3]) + (
                f" (and {len(review.problems) - 3} more)" if len(review.problems) > 3 else "")
        self._worker = threading.Thread(target=self._serve, daemon=True)
        self._worker.start()
        self.on_msg(lambda _w, content, _buffers: self._on_msg(content))

    # -- state sent to the browser -----------------------------------------------------------

    def _refresh(self) -> None:
        order = self.review.rank()
        self.tracks = [track_summary(self.review.tracks[t], self.review.suspicion[t].score,
                                     self.review.suspicion[t].frames()) for t in order]
        by: dict[int, list[list[Any]]] = {}
        for t in self.review.tracks.values():
            code = STATUSES.index(t.status)
            for f, b in t.boxes.items():
                conf = t.confidence.get(f)
                by.setdefault(f, []).append([t.id, *(round(v, 2) for v in b), code,
                                             None if conf is None else round(conf, 3)])
        self._by_frame = by
        self.reviewed = not self.review.pending

    def boxes_on(self, frame: int) -> list[list[Any]]:
        """``[track id, x, y, w, h, status code, confidence]`` of every box on ``frame``."""
        return self._by_frame.get(frame, [])

    # -- messages ------------------------------------------------------------------------------

    def _on_msg(self, content: dict[str, Any]) -> None:
        handler = HANDLERS.get(str(content.get("kind")))
        if handler is None:
            self.message = f"not understood: a message of kind {content.get('kind')!r}"
            return
        handler(self, content)

    def _on_want(self, content: dict[str, Any]) -> None:
        with self._lock:  # requests add up: each step asks only for the frames it lacks
            self._want = int(content.get("frame", 1))
            self._missing.update(int(f) for f in content.get("missing", []))
        self._wake.set()

    def _on_hello(self, content: dict[str, Any]) -> None:
        self._refresh()

    def _on_act(self, c: dict[str, Any]) -> None:
        seq = c.get("seq")
        action = str(c.get("action"))
        tid = str(c.get("track") or self.selected)
        frame = int(c.get("frame") or self.frame)
        r = self.review
        try:
            if action in ("undo", "redo"):
                if not getattr(r, action)():
                    raise ValueError(f"nothing to {action}")
            elif action == "accept_rest":
                r.accept_rest()
            elif action == "complete":
                r.complete()
            elif action == "new":  # the selected track's class, else the video's commonest
                x, y, w, h = (float(v) for v in c["box"])
                label = r.tracks[tid].label if tid in r.tracks else self._common_label()
                (made,) = r.new_track(label, {frame: (x, y, w, h)})
                self.selected = made.id
            elif tid not in r.tracks:
                raise ValueError(f"no track {tid!r} in this video")
            elif action in ("accept", "reject"):
                getattr(r, action)(tid)
            elif action in ("split", "end"):
                getattr(r, action)(tid, frame)
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
                x, y, w, h = (float(v) for v in c["box"])
                r.fix_box(tid, frame, (x, y, w, h))
            else:
                raise ValueError(f"unknown track action {action!r}")
        except (ValueError, KeyError, TypeError) as exc:
            self.message = f"not done: {exc}"
            self.send({"kind": "answer", "seq": seq, "error": self.message})
            return
        self._refresh()
        if action in ("accept", "reject") and r.pending:
            self.selected = r.pending[0]  # on to the next most suspect track
        self.message = "video reviewed" if action == "complete" else ""
        self.send({"kind": "answer", "seq": seq, "error": None})
        self._send_boxes(self.frame)

    def _common_label(self) -> str:
        labels = [t.label for t in self.review.tracks.values()]
        return max(set(labels), key=labels.count) if labels else "object"

    def _send_boxes(self, around: int) -> None:
        lo, hi = max(1, around - BEHIND - AHEAD), min(self.total_frames, around + 2 * AHEAD)
        frames = {str(f): self.boxes_on(f) for f in range(lo, hi + 1)}
        self.send({"kind": "boxes", "frames": frames, "reset": True})

    # -- frames ahead (a worker thread: the kernel stays free) --------------------------------

    def _serve(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                want, missing = self._want, sorted(self._missing)
                self._missing.clear()
            if want is None or self.reader is None or not missing:
                continue
            try:
                self._send_frames(want, missing)
            except VideoError as exc:
                self.message = str(exc)
            except Exception:  # a closed comm, a dead kernel: nothing to send to
                log.exception("video frames could not be sent")

    def _send_frames(self, want: int, missing: list[int]) -> None:
        """Send the ``missing`` frames, those ahead of ``want`` first. Decoding goes on from
        where the last request stopped when it can (a reviewer stepping or playing asks for
        the next frames each time), so a keyframe is sought only after a jump; a request for
        another place drops the frames that are no longer near it."""
        ahead = sorted(f for f in missing if f >= want)
        behind = sorted(f for f in missing if f < want)
        for group in (ahead, behind):
            batch: list[tuple[int, bytes]] = []
            for f in group:
                if not self._near(f):
                    continue  # the reviewer has moved on from there
                image = self._decode(f)
                if image is not None:
                    batch.append((f, _encode(image)))
                if len(batch) >= CHUNK:
                    self._send_batch(batch)
                    batch = []
            if batch:
                self._send_batch(batch)

    def _near(self, f: int) -> bool:
        want = self._want or 1
        return want - BEHIND <= f <= want + AHEAD

    def _decode(self, f: int) -> np.ndarray | None:
        """Frame ``f``, from the running decoder when ``f`` is at most a window ahead of it."""
        assert self.reader is not None
        if self._decoder is None or not 0 <= f - self._next < 2 * AHEAD:
            self._decoder = self.reader.frames(f)
            self._next = f
        for n, image in self._decoder:
            self._next = n + 1
            if n == f:
                return image
        self._decoder = None
        return None

    def _send_batch(self, batch: list[tuple[int, bytes]]) -> None:
        numbers = [n for n, _ in batch]
        self.send({"kind": "frames", "numbers": numbers,
                   "boxes": {str(n): self.boxes_on(n) for n in numbers}},
                  [data for _, data in batch])

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        super().close()


#: Every message kind the browser sends (``VideoToPython`` in js/src/video/types.ts).
HANDLERS = {"hello": VideoReviewWidget._on_hello, "want": VideoReviewWidget._on_want,
            "act": VideoReviewWidget._on_act}
#: Every message kind Python sends (``VideoFromPython``).
SENT_KINDS = ("frames", "boxes", "answer")
