"""Tracks in video, pure: keyframe interpolation and what makes a track worth a human look.

A track is one object's boxes over frames (``index`` in FiftyOne's frame-level detections).
Reviewing a track at a time saves most when the reviewer sees first the tracks and frames that
likely need a fix (issue 25, "suspicion first"). :func:`suspicion` flags, per frame:

- ``low confidence``: below ``low`` (default 0.5);
- ``confidence drop``: ``drop`` or more below the median of the track's previous 5 frames;
- ``size jump``: the box's area differs by more than ``size`` times from the track's usual
  area (median of its first 10 boxes): a sudden change, or a box drifting off its object;
- ``position jump``: the centre moves more than ``move`` box diagonals per frame, or its
  velocity changes in both directions at once by more than ``turn`` diagonals per frame;
- ``gap``: frames missing inside the track (lost, then found again);
- ``crossing``: another track's box overlaps this one (IoU >= ``cross_iou``): identity switches
  happen there (:func:`crossings`);

and per track ``short`` (fewer than ``min_length`` frames). A track's score is the noisy-or of
its flags' weights (:data:`WEIGHTS`), so tracks can be ordered most suspect first.

First step of issue 25 (video by track); nothing decodes video here.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nblabel.core.geometry import XYWH, iou

__all__ = [
    "WEIGHTS",
    "Suspicion",
    "TrackBox",
    "crossings",
    "interpolate",
    "order_tracks",
    "suspicion",
]

#: How much each flag raises the chance that a track needs a fix.
WEIGHTS: dict[str, float] = {"low confidence": 0.2, "confidence drop": 0.3, "size jump": 0.4,
                             "position jump": 0.5, "gap": 0.3, "crossing": 0.4, "short": 0.3}


@dataclass(frozen=True)
class TrackBox:
    """One track's box on one frame (``x, y, w, h`` in any one unit)."""

    frame: int
    box: tuple[float, float, float, float]
    confidence: float | None = None


@dataclass
class Suspicion:
    """A track's flags by frame (frame -1: the whole track) and its score in [0, 1]."""

    flags: dict[int, list[str]] = field(default_factory=dict)
    score: float = 0.0

    def frames(self) -> list[int]:
        """The flagged frames, in order (to jump to the next suspicious one)."""
        return sorted(f for f in self.flags if f >= 0)


def interpolate(keyframes: Sequence[TrackBox]) -> list[TrackBox]:
    """Boxes on every frame from the first keyframe to the last, linear between keyframes
    (keyframes kept as they are; an interpolated box has no confidence)."""
    keys = sorted(keyframes, key=lambda k: k.frame)
    if len({k.frame for k in keys}) != len(keys):
        raise ValueError(f"two keyframes on one frame: {[k.frame for k in keys]}")
    out: list[TrackBox] = []
    for a, b in itertools.pairwise(keys):
        out.append(a)
        span = b.frame - a.frame
        for f in range(a.frame + 1, b.frame):
            t = (f - a.frame) / span
            out.append(TrackBox(f, tuple(  # type: ignore[arg-type]
                p + (q - p) * t for p, q in zip(a.box, b.box, strict=True))))
    if keys:
        out.append(keys[-1])
    return out


def _centre(b: XYWH) -> tuple[float, float]:
    return b[0] + b[2] / 2, b[1] + b[3] / 2


def crossings(tracks: Mapping[str, Sequence[TrackBox]], cross_iou: float = 0.3
              ) -> dict[str, set[int]]:
    """Per track, the frames where another track's box overlaps it by ``cross_iou`` or more."""
    by_frame: dict[int, list[tuple[str, TrackBox]]] = defaultdict(list)
    for tid, boxes in tracks.items():
        for b in boxes:
            by_frame[b.frame].append((tid, b))
    out: dict[str, set[int]] = defaultdict(set)
    for frame, items in by_frame.items():
        for i, (ta, a) in enumerate(items):
            for tb, b in items[i + 1:]:
                if ta != tb and iou(a.box, b.box) >= cross_iou:
                    out[ta].add(frame)
                    out[tb].add(frame)
    return dict(out)


def suspicion(boxes: Sequence[TrackBox], *, crossing_frames: set[int] | None = None,
              low: float = 0.5, drop: float = 0.3, size: float = 1.5, move: float = 0.5,
              turn: float = 0.12, min_length: int = 5) -> Suspicion:
    """What in this track likely needs a human (see the module doc). A run of frames with the
    same flag is one event: it counts once in the score, at its first frame."""
    track = sorted(boxes, key=lambda b: b.frame)
    flags: dict[int, list[str]] = defaultdict(list)
    confs: list[float] = []
    areas = [b.box[2] * b.box[3] for b in track[:10]]
    usual = statistics.median(areas) if areas else 0.0
    velocity: tuple[float, float] | None = None
    for prev, cur in zip([None, *track], track, strict=False):
        c = cur.confidence
        if c is not None:
            if c < low:
                flags[cur.frame].append("low confidence")
            recent = confs[-5:]
            if recent and statistics.median(recent) - c >= drop:
                flags[cur.frame].append("confidence drop")
            confs.append(c)
        area = cur.box[2] * cur.box[3]
        if usual > 0 and max(area, usual) / max(min(area, usual), 1e-9) > size:
            flags[cur.frame].append("size jump")
        if prev is None:
            continue
        gap = cur.frame - prev.frame
        if gap > 1:
            flags[cur.frame].append("gap")
        (x0, y0), (x1, y1) = _centre(prev.box), _centre(cur.box)
        diag = math.hypot(prev.box[2], prev.box[3]) or 1.0
        v = ((x1 - x0) / max(gap, 1), (y1 - y0) / max(gap, 1))
        if math.hypot(*v) / diag > move:
            flags[cur.frame].append("position jump")
        elif velocity is not None and min(abs(v[0] - velocity[0]), abs(v[1] - velocity[1])
                                          ) / diag > turn:
            # Both directions changed at once: another object's motion (a bounce off an edge
            # flips one component only).
            flags[cur.frame].append("position jump")
        velocity = v
    for f in sorted(crossing_frames or ()):
        flags[f].append("crossing")
    if len(track) < min_length:
        flags[-1].append("short")
    keep = 1.0
    last: dict[str, int] = {}
    for f in sorted(flags):
        for r in flags[f]:
            if f < 0 or last.get(r, -10) < f - 1:  # a new event
                keep *= 1.0 - WEIGHTS[r]
            last[r] = f
    return Suspicion(dict(flags), 1.0 - keep)


def order_tracks(tracks: Mapping[str, Sequence[TrackBox]], cross_iou: float = 0.3
                 ) -> list[tuple[str, Suspicion]]:
    """Tracks most suspect first (ties by id), each with its :class:`Suspicion`."""
    cross = crossings(tracks, cross_iou)
    scored = [(tid, suspicion(b, crossing_frames=cross.get(tid))) for tid, b in tracks.items()]
    return sorted(scored, key=lambda t: (-t[1].score, t[0]))
