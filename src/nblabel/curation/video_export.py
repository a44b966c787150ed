"""Export of reviewed video tracks: CVAT video, MOT-style text, FiftyOne video.

As :func:`nblabel.curation.export.export_reviewed` does for images, only videos tagged
``reviewed`` are exported by default, with the tracks of frame field ``gt_tracks``.

- ``"cvat"``: FiftyOne's ``CVATVideoDataset`` exporter (one XML per video; each track a CVAT
  ``<track>`` with its id, the videos copied alongside).
- ``"mot"``: MOTChallenge text, one ``<video stem>/gt/gt.txt`` per video, lines ``frame, id,
  left, top, width, height, 1, class, 1`` in pixels (class: index in ``classes.txt``, from 1),
  which ``motmetrics.io.loadtxt(..., fmt="mot16")`` and TrackEval read. FiftyOne has no MOT
  exporter, hence this writer.
- ``"fiftyone"``: FiftyOne's own dataset format (everything, frames included).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from nblabel.core.labels import Box
from nblabel.curation.video_eval import tracks_of
from nblabel.store.schema import GT_TRACKS_FIELD, REVIEWED_TAG

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["VIDEO_FORMATS", "export_tracks"]

VideoFormat = Literal["cvat", "mot", "fiftyone"]
VIDEO_FORMATS: tuple[str, ...] = ("cvat", "mot", "fiftyone")


def export_tracks(view: fo.core.collections.SampleCollection, export_dir: str | os.PathLike[str],
                  format: VideoFormat = "cvat", *, field: str = GT_TRACKS_FIELD,
                  only_reviewed: bool = True) -> Path:
    """Export the tracks of ``field`` on ``view``'s (reviewed) videos to ``export_dir``."""
    import fiftyone as fo

    if format not in VIDEO_FORMATS:
        raise ValueError(f"unknown video export format {format!r}; choose one of {VIDEO_FORMATS}")
    if view.media_type != "video":
        raise ValueError(f"export_tracks needs videos; this view holds {view.media_type!r}")
    if only_reviewed:
        view = view.match_tags(REVIEWED_TAG)
    if not len(view):
        raise ValueError("no reviewed video to export (review one, or only_reviewed=False)")
    out = Path(export_dir)
    out.mkdir(parents=True, exist_ok=True)
    if format == "cvat":
        view.export(export_dir=str(out), dataset_type=fo.types.CVATVideoDataset,
                    frame_labels_field=field)
    elif format == "fiftyone":
        view.export(export_dir=str(out), dataset_type=fo.types.FiftyOneDataset)
    else:
        _write_mot(view, out, field)
    return out


def _write_mot(view: fo.core.collections.SampleCollection, out: Path, field: str) -> None:
    labels = view.distinct(f"frames.{field}.detections.label")
    (out / "classes.txt").write_text("".join(f"{c}\n" for c in labels))
    tracks = tracks_of(view, field)
    ids, paths = view.values(["id", "filepath"])
    by_track_label = _labels(view, field)
    for sid, path in zip(ids, paths, strict=True):
        lines = []
        for tid, boxes in tracks[sid].items():
            cls = labels.index(by_track_label[sid][tid]) + 1
            for b in boxes:
                x, y, w, h = Box(*b.box).as_list()
                lines.append((b.frame, int(tid), f"{b.frame},{tid},{x:.2f},{y:.2f},{w:.2f},"
                              f"{h:.2f},1,{cls},1\n"))
        target = out / Path(path).stem / "gt"
        target.mkdir(parents=True, exist_ok=True)
        (target / "gt.txt").write_text("".join(line for *_, line in sorted(lines)))


def _labels(view: fo.core.collections.SampleCollection, field: str) -> dict[str, dict[str, str]]:
    ids, dets = view.values(["id", f"frames.{field}.detections"])
    out: dict[str, dict[str, str]] = {}
    for sid, frames in zip(ids, dets, strict=True):
        per = out.setdefault(sid, {})
        for frame in frames or []:
            for d in frame or []:
                per.setdefault(str(d.index), d.label)
    return out
