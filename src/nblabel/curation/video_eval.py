"""Tracking quality: proposals or reviewed tracks against true ones (MOTA, IDF1 with motmetrics).

:func:`mot_scores` compares two sets of tracks (``{track id: [TrackBox, ...]}``, boxes in one
unit) frame by frame the CLEAR-MOT way: boxes match at IoU >= ``iou`` (motmetrics' distance
``1 - IoU`` below ``1 - iou``), and identities are kept across frames. :func:`evaluate_tracks`
does it per video of a FiftyOne view from two frame-level fields and adds up the counts, so
MOTA and IDF1 are over the whole view (as MOTChallenge sums its sequences).

HOTA is not computed here: motmetrics does not have it and TrackEval, which does, declares
opencv-python (a second OpenCV build would break the headless one); ``bench/video_review.py``
installs TrackEval without it and reports HOTA.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nblabel.core.labels import Box, ImageSize
from nblabel.core.tracks import TrackBox

if TYPE_CHECKING:
    import fiftyone as fo
    import pandas as pd

__all__ = ["TrackScores", "evaluate_tracks", "iou_distance", "mot_scores", "review_table",
           "tracks_of"]

Tracks = Mapping[str, Sequence[TrackBox]]


@dataclass
class TrackScores:
    """CLEAR-MOT and identity scores of predicted tracks against true ones."""

    mota: float
    idf1: float
    switches: int
    misses: int
    false_positives: int
    objects: int
    matches: int
    idtp: int = 0
    idfp: int = 0
    idfn: int = 0

    @classmethod
    def total(cls, parts: Sequence[TrackScores]) -> TrackScores:
        """Scores over several videos: counts added, then MOTA and IDF1 from the sums."""
        s = {k: sum(getattr(p, k) for p in parts) for k in (
            "switches", "misses", "false_positives", "objects", "matches", "idtp", "idfp",
            "idfn")}
        errors = s["misses"] + s["false_positives"] + s["switches"]
        mota = 1.0 - errors / s["objects"] if s["objects"] else 0.0
        denom = 2 * s["idtp"] + s["idfp"] + s["idfn"]
        return cls(mota=mota, idf1=2 * s["idtp"] / denom if denom else 0.0, **s)


def iou_distance(a: np.ndarray, b: np.ndarray, max_d: float) -> np.ndarray:
    """``1 - IoU`` of every pair of ``x, y, w, h`` rows, NaN (no match) above ``max_d``:
    motmetrics' ``iou_matrix``, which uses ``np.asfarray`` (gone in NumPy 2)."""
    if not len(a) or not len(b):
        return np.empty((len(a), len(b)))
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2) - np.maximum(a[:, None, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2) - np.maximum(a[:, None, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
    d = 1.0 - inter / np.maximum(union, 1e-12)
    d[d > max_d] = np.nan
    return d


def mot_scores(truth: Tracks, pred: Tracks, iou: float = 0.5) -> TrackScores:
    """MOTA, IDF1 and their counts of ``pred`` against ``truth`` (see the module doc)."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=False)
    frames: dict[int, tuple[list[tuple[int, TrackBox]], list[tuple[int, TrackBox]]]] = {}
    for k, boxes in enumerate(truth.values()):  # motmetrics wants numeric ids
        for b in boxes:
            frames.setdefault(b.frame, ([], []))[0].append((k, b))
    for k, boxes in enumerate(pred.values()):
        for b in boxes:
            frames.setdefault(b.frame, ([], []))[1].append((k, b))
    for f in sorted(frames):
        gt, hyp = frames[f]
        a = np.array([b.box for _, b in gt], dtype=float).reshape(-1, 4)
        h = np.array([b.box for _, b in hyp], dtype=float).reshape(-1, 4)
        acc.update([t for t, _ in gt], [t for t, _ in hyp], iou_distance(a, h, 1.0 - iou),
                   frameid=f)
    mh = mm.metrics.create()
    names = ["mota", "idf1", "num_switches", "num_misses", "num_false_positives",
             "num_objects", "num_matches", "idtp", "idfp", "idfn"]
    row = mh.compute(acc, metrics=names, name="v").iloc[0]

    def num(key: str) -> float:
        value = float(row[key])
        return 0.0 if np.isnan(value) else value

    return TrackScores(mota=num("mota"), idf1=num("idf1"), switches=int(num("num_switches")),
                       misses=int(num("num_misses")),
                       false_positives=int(num("num_false_positives")),
                       objects=int(num("num_objects")), matches=int(num("num_matches")),
                       idtp=int(num("idtp")), idfp=int(num("idfp")), idfn=int(num("idfn")))


def tracks_of(view: fo.core.collections.SampleCollection, field: str,
              ) -> dict[str, dict[str, list[TrackBox]]]:
    """Per video sample id, its tracks in frame field ``field`` (boxes in pixels; a box with no
    ``index`` is a track of its own)."""
    ids, sizes, numbers, dets = view.values(
        ["id", "metadata", "frames.frame_number", f"frames.{field}.detections"])
    out: dict[str, dict[str, list[TrackBox]]] = {}
    for sid, meta, fnums, per_frame in zip(ids, sizes, numbers, dets, strict=True):
        size = ImageSize(int(meta.frame_width), int(meta.frame_height)) if meta else None
        tracks: dict[str, list[TrackBox]] = {}
        for n, frame_dets in zip(fnums or [], per_frame or [], strict=True):
            for i, d in enumerate(frame_dets or []):
                b = Box.from_relative(d.bounding_box, size) if size else Box(*d.bounding_box)
                tid = str(d.index) if d.index is not None else f"frame{n}-{i}"
                tracks.setdefault(tid, []).append(
                    TrackBox(int(n), (b.x, b.y, b.w, b.h), d.confidence))
        out[sid] = tracks
    return out


def evaluate_tracks(view: fo.core.collections.SampleCollection, pred_field: str,
                    gt_field: str, iou: float = 0.5) -> TrackScores:
    """MOTA and IDF1 of ``pred_field``'s tracks against ``gt_field``'s over every video of
    ``view`` (counts summed over videos)."""
    pred = tracks_of(view, pred_field)
    truth = tracks_of(view, gt_field)
    return TrackScores.total([mot_scores(truth.get(sid, {}), pred[sid], iou) for sid in pred])


def review_table(dataset: fo.Dataset, journal: Any) -> pd.DataFrame:
    """Per video and reviewer, from the journal: track actions, the tracks kept and rejected in
    the end, and the seconds the review took (the last action's time on the video), so a team
    sees where review time went."""
    import pandas as pd

    from nblabel.core.track_edits import TrackDecision
    from nblabel.store.schema import tracks_journal_key

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    final: dict[tuple[str, str], TrackDecision] = {}
    for _, payload in journal.payloads(tracks_journal_key(dataset.name)):
        d = TrackDecision.from_dict(payload)
        r = rows.setdefault((d.sample_id, d.reviewer), {"actions": 0, "seconds": 0.0})
        r["actions"] += 1
        r["seconds"] = max(r["seconds"], d.seconds)
        final[(d.sample_id, d.track_id)] = d
    out = []
    for (sid, reviewer), r in rows.items():
        mine = [d.track for (s, _), d in final.items() if s == sid and d.reviewer == reviewer
                and d.track is not None]
        out.append({"video": sid, "reviewer": reviewer, "actions": r["actions"],
                    "seconds": round(r["seconds"], 1),
                    "kept": sum(t.status in ("accepted", "edited", "added") for t in mine),
                    "rejected": sum(t.status == "rejected" for t in mine)})
    return pd.DataFrame(out, columns=["video", "reviewer", "actions", "seconds", "kept",
                                      "rejected"])
