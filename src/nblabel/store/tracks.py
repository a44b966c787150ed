"""Tracks in FiftyOne video datasets: read a video's proposed tracks, write reviewed ones.

Frame-level ``Detections`` whose ``index`` is the track id, as FiftyOne's video datasets and its
CVAT and MOT-style exporters expect. :func:`write_tracks` writes only the frames a decision
touched, with one bulk ``set_values`` keyed by sample id (never a ``save()`` per frame); each
written box carries its track's review status, reviewer and time (``REVIEW_ATTRS``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from nblabel.core.labels import Box, ImageSize
from nblabel.core.track_edits import Track
from nblabel.core.tracks import TrackBox
from nblabel.store import schema, shim
from nblabel.store.schema import REVIEW_ATTRS

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["frame_size", "read_tracks", "write_tracks"]


def frame_size(dataset: fo.Dataset, sample_id: str) -> ImageSize:
    """The frame size of video ``sample_id`` (from its metadata)."""
    meta = dataset.select(sample_id).values("metadata")[0]
    if meta is None or not getattr(meta, "frame_width", None):
        raise ValueError(f"video {sample_id} has no metadata: run "
                         "nblabel.preannotation.tracking.ensure_video_metadata on it first")
    return ImageSize(int(meta.frame_width), int(meta.frame_height))


#: A track id seen again after this many frames without it is taken as reused for another
#: object (trackers recycle ids): the later boxes become a track of their own.
REUSE_GAP = 50


def read_tracks(dataset: fo.Dataset, sample_id: str, field: str,
                problems: list[str] | None = None) -> list[Track]:
    """The tracks in frame field ``field`` of one video, as proposed (pending; boxes in pixels;
    a box without ``index`` is a track of its own). A track whose boxes carry two labels takes
    the most frequent (the tracker's class flickered). An id on two boxes of one frame, or seen
    again after :data:`REUSE_GAP` frames, is a reused id: those boxes become their own track
    (``<id>~2``, ...), and ``problems`` (when given) names each case."""
    size = frame_size(dataset, sample_id)
    view = dataset.select(sample_id)
    numbers, dets = view.values(["frames.frame_number", f"frames.{field}.detections"])
    boxes: dict[str, list[TrackBox]] = {}
    labels: dict[str, dict[str, int]] = {}
    for n, frame_dets in sorted(zip(numbers[0] or [], dets[0] or [], strict=True),
                                key=lambda p: p[0]):
        for i, d in enumerate(frame_dets or []):
            tid = str(d.index) if d.index is not None else f"f{n}-{i}"
            tid = _unreused(tid, int(n), boxes, problems)
            b = Box.from_relative(d.bounding_box, size)
            boxes.setdefault(tid, []).append(
                TrackBox(int(n), (b.x, b.y, b.w, b.h), d.confidence))
            votes = labels.setdefault(tid, {})
            votes[d.label] = votes.get(d.label, 0) + 1
    return [Track.proposed(tid, max(labels[tid], key=labels[tid].__getitem__), bs)
            for tid, bs in boxes.items()]


def _unreused(tid: str, frame: int, boxes: dict[str, list[TrackBox]],
              problems: list[str] | None) -> str:
    """The track id a box belongs to, given the boxes read so far (see :func:`read_tracks`)."""
    base, k = tid, 1
    while tid in boxes:
        last = boxes[tid][-1].frame
        if last == frame:
            why = f"track id {base} is on two boxes of frame {frame}"
        elif frame - last > REUSE_GAP:
            why = f"track id {base} comes back on frame {frame} after {frame - last} frames"
        else:
            return tid
        k += 1
        nxt = f"{base}~{k}"
        if nxt not in boxes and problems is not None:
            problems.append(f"{why}: taken as reused, its boxes from there are track {nxt}")
        tid = nxt
    return tid


def write_tracks(dataset: fo.Dataset, sample_id: str, field: str, tracks: Iterable[Track],
                 frames: Iterable[int], reviewer: str = "") -> int:
    """Write the kept tracks' boxes on ``frames`` of one video into frame field ``field``
    (``tracks``: every track's final state; a frame no kept track covers is emptied). Returns
    the number of frames written."""
    import fiftyone as fo

    size = frame_size(dataset, sample_id)
    schema.declare_frames(dataset, {field: "detections", **{
        f"{field}.detections.{a}": k for a, k in REVIEW_ATTRS.items()}})
    wanted = sorted(set(frames))
    if not wanted:
        return 0
    kept = [t for t in tracks if t.status in ("accepted", "edited", "added")]
    schema.declare_frames(dataset, {
        f"{field}.detections.{n}": schema.ATTRIBUTE_KINDS[schema.stored_kind(v)]
        for t in kept for n, v in t.attributes.items()})
    now = datetime.now(timezone.utc)
    values: dict[int, Any] = {}
    for f in wanted:
        dets = []
        for t in kept:
            b = t.boxes.get(f)
            if b is None:
                continue
            try:
                rel = Box(*b).clipped(size).to_relative(size)
            except ValueError:
                continue  # a box moved wholly outside the frame: nothing to write there
            dets.append(fo.Detection(label=t.label, bounding_box=rel, index=_index(t.id),
                                     review=t.status, reviewer=reviewer, reviewed_at=now,
                                     **t.attributes))
        values[f] = fo.Detections(detections=dets)
    shim.base_dataset(dataset).set_values(f"frames.{field}", {sample_id: values},
                                          key_field="id")
    return len(values)


def _index(track_id: str) -> int:
    """FiftyOne's ``index`` for a track id: the id when it is a number, else a stable hash."""
    try:
        return int(track_id)
    except ValueError:
        return zlib.crc32(track_id.encode())
