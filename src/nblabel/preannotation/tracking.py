"""Track proposals over the videos of a FiftyOne view, streamed and resumable.

:func:`track_videos` feeds each video to a tracker (:mod:`nblabel.sources.tracker`) one window of
``window`` frames at a time: PyAV decodes the window, the tracker proposes, and the window's
frames are written with one bulk ``set_values`` keyed by sample id (frame-level ``Detections``
whose ``index`` is the track id, relative boxes, ``confidence``, ``source``). Memory is bounded
by one window, whatever the video's length.

Resumable: after each window the sample's ``nblabel_tracked_frames`` says how far the video
got; a video tracked to its end is skipped next time (``overwrite=True`` redoes it). A video
stopped part-way is tracked again from its first frame: a tracker's state (its tracks' motion
models) is not stored, and restarting it mid-video would break every track in two there.

Bad input: a video that cannot be opened, or that ends early, gets ``nblabel_error`` naming the
file and frame; the frames before the damage keep their proposals; the run goes on with the next
video. A tracker that fails on the first window of the run stops it with the reason (it would
fail everywhere); later failures are recorded on their video.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nblabel.core.labels import ImageSize
from nblabel.core.tracks import TrackBox, order_tracks
from nblabel.core.video import VideoError, VideoInfo, VideoReader, probe
from nblabel.preannotation.progress import Progress, ProgressArg
from nblabel.sources.base import ProposalError
from nblabel.sources.tracker import TrackedBox, Tracker
from nblabel.store import schema, shim
from nblabel.store.schema import (
    ERROR_FIELD,
    SUSPICION_FIELD,
    TRACK_ATTRS,
    TRACKED_FRAMES_FIELD,
    TRACKER_FIELD,
    TRACKS_FIELD,
)

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["TrackingReport", "ensure_video_metadata", "track_videos"]

log = logging.getLogger(__name__)


@dataclass
class TrackingReport:
    """What one :func:`track_videos` run did."""

    videos: int = 0
    skipped: int = 0
    frames: int = 0
    boxes: int = 0
    tracks: int = 0
    dropped: int = 0
    seconds: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        return (f"{self.videos} videos tracked ({self.skipped} already done), {self.frames} "
                f"frames, {self.tracks} tracks, {self.boxes} boxes, {self.dropped} invalid "
                f"boxes dropped, {self.frames_per_s:.1f} frames/s, {len(self.errors)} errors")


def ensure_video_metadata(view: fo.core.collections.SampleCollection
                          ) -> dict[str, VideoInfo | VideoError]:
    """Probe every video of ``view`` with PyAV and store FiftyOne ``VideoMetadata`` where it
    is missing (FiftyOne's own needs the ffprobe binary). Returns what each sample gave."""
    import fiftyone as fo

    out: dict[str, VideoInfo | VideoError] = {}
    missing: dict[str, Any] = {}
    for sid, path, meta in zip(*view.values(["id", "filepath", "metadata"]), strict=True):
        try:
            info = probe(path)
        except VideoError as exc:
            out[sid] = exc
            continue
        out[sid] = info
        if meta is None or getattr(meta, "total_frame_count", None) != info.frame_count:
            missing[sid] = fo.VideoMetadata(**info.metadata())
    if missing:
        shim.base_dataset(view).set_values("metadata", missing, key_field="id")
    return out


def _detections(boxes: list[TrackedBox], size: ImageSize, source: str) -> Any:
    import fiftyone as fo

    return fo.Detections(detections=[
        fo.Detection(label=b.label, bounding_box=b.box.to_relative(size), confidence=b.confidence,
                     index=b.track_id, source=source) for b in boxes])


def _suspicion(tracks: dict[int, list[TrackBox]]) -> float:
    ranked = order_tracks({str(t): bs for t, bs in tracks.items()})
    return max((s.score for _, s in ranked), default=0.0)


def track_videos(view: fo.core.collections.SampleCollection, tracker: Tracker, *,
                 field: str = TRACKS_FIELD, window: int = 32, overwrite: bool = False,
                 progress: ProgressArg = True, backend: str = "local",
                 address: str | None = None, num_workers: int = 1) -> TrackingReport:
    """Propose tracks on every video of ``view`` into frame field ``field`` (see module doc).

    ``progress``: a bar, nothing, or ``progress(frames_done, frames_total)`` over every video
    to track, after each window (:mod:`nblabel.preannotation.progress`). ``backend="ray"``
    tracks each video in a Ray task (the tracker must pickle; a tracker's state never crosses
    videos, so videos are independent), with ``preannotate``'s ``address`` and
    ``num_workers``; this process writes the boxes as each video comes back.
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', not {backend!r}")
    if view.media_type != "video":
        raise ValueError(f"track_videos needs a video dataset; this one holds "
                         f"{view.media_type!r} samples")
    if window < 1:
        raise ValueError(f"window must be at least 1 frame, got {window}")
    dataset = shim.base_dataset(view)
    schema.declare(dataset, {TRACKED_FRAMES_FIELD: "int", TRACKER_FIELD: "str",
                             SUSPICION_FIELD: "float", ERROR_FIELD: "str"})
    schema.declare_frames(dataset, {field: "detections", **{
        f"{field}.detections.{a}": k for a, k in TRACK_ATTRS.items()}})
    report = TrackingReport()
    started = time.perf_counter()
    infos = ensure_video_metadata(view)
    done = dict(zip(*view.values(["id", TRACKED_FRAMES_FIELD]), strict=True))
    total = sum(i.frame_count for s, i in infos.items() if not isinstance(i, VideoError)
                and (overwrite or (done.get(s) or 0) < i.frame_count))
    bar = Progress(progress, total, f"tracks from {tracker.name}")
    todo: list[tuple[str, str, VideoInfo]] = []
    for sid, path in zip(*view.values(["id", "filepath"]), strict=True):
        info = infos[sid]
        if isinstance(info, VideoError):
            report.errors[sid] = str(info)
            dataset.set_values(ERROR_FIELD, {sid: str(info)}, key_field="id")
        elif not overwrite and (done.get(sid) or 0) >= info.frame_count:
            report.skipped += 1
        else:
            todo.append((sid, path, info))
    remote = _start_remote(todo, tracker, window, address, num_workers) \
        if backend == "ray" else None
    first = True
    for k, (sid, path, info) in enumerate(todo):
        try:
            windows = _fetch(remote[k]) if remote is not None else \
                _windows(info, tracker, window)
            _track_one(dataset, sid, info, windows, tracker.name, field, report, bar)
        except ProposalError as exc:
            if first:
                raise
            report.errors[sid] = f"{path}: {exc}"
            dataset.set_values(ERROR_FIELD, {sid: report.errors[sid]}, key_field="id")
        first = False
    bar.close()
    report.seconds = time.perf_counter() - started
    report.dropped = tracker.dropped
    log.info("track_videos: %s", report)
    return report


def _windows(info: VideoInfo, tracker: Tracker, window: int
             ) -> Iterator[tuple[list[tuple[int, list[Any]]], str]]:
    """Track one video a window of frames at a time: each window's ``(frame, boxes)`` pairs,
    and the error that ended the video early ("" when none). Pure compute (decoding and the
    tracker): here or in a Ray worker; :func:`_write_window` stores what it yields."""
    tracker.reset()
    reader = VideoReader(info.path, info)
    batch: list[tuple[int, Any]] = []
    try:
        for n, image in reader.frames():
            batch.append((n, image))
            if len(batch) >= window:
                results = tracker.track([im for _, im in batch])
                yield [(m, list(b)) for (m, _), b in zip(batch, results, strict=True)], ""
                batch.clear()
    except VideoError as exc:
        if batch:
            results = tracker.track([im for _, im in batch])
            yield [(m, list(b)) for (m, _), b in zip(batch, results, strict=True)], ""
        yield [], str(exc)
        return
    if batch:
        results = tracker.track([im for _, im in batch])
        yield [(m, list(b)) for (m, _), b in zip(batch, results, strict=True)], ""


def _ray_windows(info: VideoInfo, tracker: Tracker, window: int
                 ) -> list[tuple[list[tuple[int, list[Any]]], str]]:
    """A whole video's windows, in a Ray task (the boxes, not the frames, come back)."""
    return list(_windows(info, tracker, window))


def _track_one(dataset: fo.Dataset, sid: str, info: VideoInfo,
               windows: Iterable[tuple[list[tuple[int, list[Any]]], str]], tracker_name: str,
               field: str, report: TrackingReport, bar: Progress) -> None:
    """Store one video's windows as they come (frames, the frames tracked so far, and at the
    end the error, the tracker and the video's suspicion)."""
    size = ImageSize(info.width, info.height)
    dataset.set_values(TRACKED_FRAMES_FIELD, {sid: 0}, key_field="id")
    tracks: dict[int, list[TrackBox]] = {}
    error = ""
    for pairs, problem in windows:
        error = error or problem
        if not pairs:
            continue
        values = {}
        for n, boxes in pairs:
            values[n] = _detections(boxes, size, tracker_name)
            for b in boxes:
                tracks.setdefault(b.track_id, []).append(
                    TrackBox(n, (b.box.x, b.box.y, b.box.w, b.box.h), b.confidence))
            report.boxes += len(boxes)
        dataset.set_values(f"frames.{field}", {sid: values}, key_field="id")
        dataset.set_values(TRACKED_FRAMES_FIELD, {sid: pairs[-1][0]}, key_field="id")
        report.frames += len(pairs)
        bar.advance(len(pairs))
    if error:  # the frames before the damage keep their proposals; the video counts as done
        report.errors[sid] = error
        dataset.set_values(TRACKED_FRAMES_FIELD, {sid: info.frame_count}, key_field="id")
    dataset.set_values(ERROR_FIELD, {sid: error or None}, key_field="id")
    dataset.set_values(TRACKER_FIELD, {sid: tracker_name}, key_field="id")
    dataset.set_values(SUSPICION_FIELD, {sid: _suspicion(tracks)}, key_field="id")
    report.videos += 1
    report.tracks += len(tracks)


def _start_remote(todo: list[tuple[str, str, VideoInfo]], tracker: Tracker, window: int,
                  address: str | None, num_workers: int) -> list[Any]:
    """One Ray task per video (started at once; Ray runs ``num_workers`` at a time)."""
    import ray

    from nblabel.preannotation.run import start_ray

    start_ray(address, num_workers)
    task = ray.remote(num_cpus=1)(_ray_windows)
    return [task.remote(info, tracker, window) for _, _, info in todo]


def _fetch(ref: Any) -> list[tuple[list[tuple[int, list[Any]]], str]]:
    """A video's windows from its Ray task (a tracker's failure comes back as it was raised)."""
    import ray

    try:
        return list(ray.get(ref))
    except ray.exceptions.RayTaskError as exc:
        cause = exc.as_instanceof_cause()
        if isinstance(cause, ProposalError):
            raise ProposalError(str(cause)) from exc
        raise
