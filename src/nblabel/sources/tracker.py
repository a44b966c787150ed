"""Video sources: trackers that propose boxes with a track id on consecutive frames.

A tracker is anything with a ``name``, ``reset()`` (a new video starts) and ``track(frames) ->
list[list[TrackedBox]]`` (one list per frame, in order; boxes in pixels). It keeps its own state
between calls, so a video can be fed one window of frames at a time
(:func:`nblabel.preannotation.tracking.track_videos`).

- :class:`UltralyticsTracker`: an ultralytics detector with its built-in trackers (ByteTrack by
  default, ``"botsort.yaml"`` for BoT-SORT), a window of frames per call.
- :class:`CallableTracker`: any function ``fn(frames) -> per frame [(track_id, label, (x, y, w,
  h), confidence), ...]``; its ``reset`` is called when it has one.

Boxes are validated like every source's (clipped to the frame, empty ones dropped and counted).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nblabel.core.labels import Box, ImageSize, InvalidLabelError
from nblabel.sources.base import LabelMap, ProposalError
from nblabel.sources.yolo import prepare_ultralytics

__all__ = ["CallableTracker", "TrackedBox", "Tracker", "UltralyticsTracker"]


@dataclass(frozen=True)
class TrackedBox:
    """One box of one track on one frame (pixels)."""

    track_id: int
    label: str
    box: Box
    confidence: float | None = None


@runtime_checkable
class Tracker(Protocol):
    """What :func:`~nblabel.preannotation.tracking.track_videos` needs from a tracker."""

    name: str
    dropped: int

    def reset(self) -> None: ...

    def track(self, frames: Sequence[np.ndarray]) -> list[list[TrackedBox]]: ...


def _valid(track_id: Any, label: str, box: Sequence[float], confidence: float | None,
           size: ImageSize) -> TrackedBox | None:
    try:
        clipped = Box(*(float(v) for v in box)).clipped(size)
    except (InvalidLabelError, TypeError, ValueError):
        return None
    if clipped.w <= 0 or clipped.h <= 0:
        return None
    conf = None if confidence is None else float(confidence)
    if conf is not None and not np.isfinite(conf):
        conf = None
    return TrackedBox(int(track_id), label, clipped, conf)


def _validated(frames: Sequence[np.ndarray], found: Sequence[Sequence[Any]]
               ) -> tuple[list[list[TrackedBox]], int]:
    """Per frame, the valid ``(track id, label, (x, y, w, h)[, confidence])`` boxes clipped to
    it, and how many were dropped."""
    out: list[list[TrackedBox]] = []
    dropped = 0
    for frame, boxes in zip(frames, found, strict=True):
        size = ImageSize(frame.shape[1], frame.shape[0])
        row = []
        for tid, label, box, *rest in boxes:
            tb = _valid(tid, str(label), box, rest[0] if rest else None, size)
            if tb is None:
                dropped += 1
            else:
                row.append(tb)
        out.append(row)
    return out, dropped


class UltralyticsTracker:
    """An ultralytics detector tracking with ByteTrack (default) or BoT-SORT.

    ``model``: a ``YOLO`` object or a weights path (``"yolo11n.pt"`` is downloaded by
    ultralytics when a user asks for it; the tests use models trained here). Frames are passed
    as a batch per window with ``persist=True``, so ultralytics keeps the tracker's state
    between windows; :meth:`reset` starts a fresh tracker for the next video. Boxes the
    tracker has not confirmed (no id yet) are left out, as ``model.track`` does.
    """

    def __init__(self, model: Any, *, tracker: str = "bytetrack.yaml", conf: float = 0.1,
                 iou: float = 0.6, imgsz: int = 640, device: str | int | None = None,
                 label_map: Mapping[str | int, str | None] | LabelMap | None = None,
                 name: str | None = None) -> None:
        if isinstance(model, str | os.PathLike):
            prepare_ultralytics()
            from ultralytics import YOLO

            model = YOLO(os.fspath(model))
        if getattr(model, "task", "detect") not in ("detect", "segment"):
            raise ValueError(f"an ultralytics {model.task!r} model cannot track: it proposes "
                             "no boxes (use a detect or segment model)")
        self.model = model
        self.tracker = tracker
        self.kwargs = {"conf": conf, "iou": iou, "imgsz": imgsz, "device": device,
                       "verbose": False}
        self.label_map = label_map if isinstance(label_map, LabelMap) else LabelMap(label_map)
        self.name = name or f"ultralytics-{tracker.split('.')[0]}"
        self.dropped = 0
        self._fresh = True

    def reset(self) -> None:
        self._fresh = True

    def track(self, frames: Sequence[np.ndarray]) -> list[list[TrackedBox]]:
        if not frames:
            return []
        # ultralytics takes BGR arrays (OpenCV's order); PyAV gives RGB.
        batch = [np.ascontiguousarray(f[..., ::-1]) for f in frames]
        try:
            results = self.model.track(batch, persist=not self._fresh, tracker=self.tracker,
                                       **self.kwargs)
        except Exception as exc:  # any model failure, named with its window
            raise ProposalError(f"{self.name} failed on a window of {len(frames)} frames: "
                                f"{type(exc).__name__}: {exc}") from exc
        self._fresh = False
        names = self.model.names
        found: list[list[Any]] = []
        for result in results:
            boxes = result.boxes
            row: list[Any] = []
            if boxes is not None and boxes.id is not None:
                for (cx, cy, w, h), tid, cls, conf in zip(
                        boxes.xywh.cpu().numpy(), boxes.id.cpu().numpy(),
                        boxes.cls.cpu().numpy(), boxes.conf.cpu().numpy(), strict=True):
                    label = self.label_map(str(names[int(cls)]), int(cls))
                    if label is not None:
                        row.append((tid, label, (cx - w / 2, cy - h / 2, w, h), float(conf)))
            found.append(row)
        out, dropped = _validated(frames, found)
        self.dropped += dropped
        return out


class CallableTracker:
    """Any function as a tracker (see the module doc); ``reset`` is the function's own
    ``reset`` attribute when it has one."""

    def __init__(self, fn: Callable[[Sequence[np.ndarray]], Sequence[Sequence[Any]]],
                 name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "tracker")
        self.dropped = 0

    def reset(self) -> None:
        reset = getattr(self.fn, "reset", None)
        if callable(reset):
            reset()

    def track(self, frames: Sequence[np.ndarray]) -> list[list[TrackedBox]]:
        try:
            got = self.fn(frames)
        except Exception as exc:  # a user function: named with its window
            raise ProposalError(f"tracker {self.name} failed on a window of {len(frames)} "
                                f"frames: {type(exc).__name__}: {exc}") from exc
        if len(got) != len(frames):
            raise ProposalError(f"tracker {self.name} returned {len(got)} frames of boxes for "
                                f"{len(frames)} frames")
        out, dropped = _validated(frames, got)
        self.dropped += dropped
        return out
