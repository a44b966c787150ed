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
                 progress: ProgressArg = True) -> TrackingReport:
    """Propose tracks on every video of ``view`` into frame field ``field`` (see module doc).

    ``progress``: a bar, nothing, or ``progress(frames_done, frames_total)`` over every video
    to track, after each window (:mod:`nblabel.preannotation.progress`).
    """
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
    first = True
    for sid, path in zip(*view.values(["id", "filepath"]), strict=True):
        info = infos[sid]
        if isinstance(info, VideoError):
            report.errors[sid] = str(info)
            dataset.set_values(ERROR_FIELD, {sid: str(info)}, key_field="id")
            continue
        if not overwrite and (done.get(sid) or 0) >= info.frame_count:
            report.skipped += 1
            continue
        try:
            _track_one(dataset, sid, info, tracker, field, window, report, bar)
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


def _track_one(dataset: fo.Dataset, sid: str, info: VideoInfo, tracker: Tracker, field: str,
               window: int, report: TrackingReport,
               bar: Progress) -> None:
    size = ImageSize(info.width, info.height)
    tracker.reset()
    dataset.set_values(TRACKED_FRAMES_FIELD, {sid: 0}, key_field="id")
    reader = VideoReader(info.path, info)
    tracks: dict[int, list[TrackBox]] = {}
    batch: list[tuple[int, Any]] = []
    error = ""

    def flush() -> None:
        results = tracker.track([image for _, image in batch])
        values = {}
        for (n, _), boxes in zip(batch, results, strict=True):
            values[n] = _detections(boxes, size, tracker.name)
            for b in boxes:
                tracks.setdefault(b.track_id, []).append(
                    TrackBox(n, (b.box.x, b.box.y, b.box.w, b.box.h), b.confidence))
            report.boxes += len(boxes)
        dataset.set_values(f"frames.{field}", {sid: values}, key_field="id")
        last = batch[-1][0]
        dataset.set_values(TRACKED_FRAMES_FIELD, {sid: last}, key_field="id")
        report.frames += len(batch)
        bar.advance(len(batch))
        batch.clear()

    try:
        for n, image in reader.frames():
            batch.append((n, image))
            if len(batch) >= window:
                flush()
    except VideoError as exc:
        error = str(exc)
    if batch:
        flush()
    if error:  # the frames before the damage keep their proposals; the video counts as done
        report.errors[sid] = error
        dataset.set_values(TRACKED_FRAMES_FIELD, {sid: info.frame_count}, key_field="id")
    dataset.set_values(ERROR_FIELD, {sid: error or None}, key_field="id")
    dataset.set_values(TRACKER_FIELD, {sid: tracker.name}, key_field="id")
    dataset.set_values(SUSPICION_FIELD, {sid: _suspicion(tracks)}, key_field="id")
    report.videos += 1
    report.tracks += len(tracks)
