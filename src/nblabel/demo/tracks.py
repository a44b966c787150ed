"""Generated object tracks with known truth, and tracker output with known faults (pure: boxes
only, no pixels), for the video review's suspicion ordering and its benchmark.

:func:`sprite_tracks`: objects moving at constant velocity, bouncing off the frame's edges,
entering and leaving at random frames (so tracks cross, start and end inside the video).
:func:`faulty_tracks`: what a tracker makes of them, with a known fault on some tracks:

- ``switch``: two tracks that cross exchange identities from the crossing on;
- ``drift``: the box slides off its object, a little more each frame;
- ``lost``: the object is missed for a few frames and comes back with low confidence;

and every other box exact with confidence 0.8-0.95. Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nblabel.core.geometry import iou
from nblabel.core.tracks import TrackBox

__all__ = ["FaultyTracks", "faulty_tracks", "sprite_tracks"]

Tracks = dict[str, list[TrackBox]]


def sprite_tracks(n_objects: int, frames: int, *, size: tuple[int, int] = (640, 360),
                  seed: int = 0) -> Tracks:
    """``n_objects`` true tracks over ``frames`` frames of a ``size`` video (see the module
    doc); ids ``t0``, ``t1``, ...; frames numbered from 1 as in FiftyOne."""
    rng = np.random.default_rng(seed)
    width, height = size
    out: Tracks = {}
    for k in range(n_objects):
        w, h = rng.uniform(30, 70, 2)
        x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
        vx, vy = rng.uniform(-6, 6, 2)
        start = int(rng.integers(0, frames // 3))
        end = int(rng.integers(2 * frames // 3, frames + 1))
        boxes = []
        for f in range(start, end):
            boxes.append(TrackBox(f + 1, (float(x), float(y), float(w), float(h)), 1.0))
            x, y = x + vx, y + vy
            if not 0 <= x <= width - w:
                vx, x = -vx, float(np.clip(x, 0, width - w))
            if not 0 <= y <= height - h:
                vy, y = -vy, float(np.clip(y, 0, height - h))
        out[f"t{k}"] = boxes
    return out


@dataclass
class FaultyTracks:
    """A tracker's output and which of its tracks hold a fault (id: kind)."""

    tracks: Tracks
    faults: dict[str, str]


def _first_crossing(a: list[TrackBox], b: list[TrackBox]) -> int | None:
    at = {x.frame: x for x in b}
    for x in a:
        y = at.get(x.frame)
        if y is not None and iou(x.box, y.box) >= 0.3:
            return x.frame
    return None


def faulty_tracks(truth: Tracks, *, share: float = 0.3, seed: int = 0) -> FaultyTracks:
    """``truth`` as a tracker might give it, with a fault on about ``share`` of the tracks."""
    rng = np.random.default_rng(seed)
    tracks = {tid: [TrackBox(b.frame, b.box, round(float(rng.uniform(0.8, 0.95)), 3))
                    for b in boxes] for tid, boxes in truth.items()}
    faults: dict[str, str] = {}
    ids = sorted(tracks)
    for tid in ids:
        if tid in faults or rng.random() >= share:
            continue
        kind = ("switch", "drift", "lost")[int(rng.integers(3))]
        boxes = tracks[tid]
        if kind == "switch":
            other = next((o for o in ids if o != tid and o not in faults
                          and _first_crossing(boxes, tracks[o]) is not None), None)
            at = _first_crossing(boxes, tracks[other]) if other is not None else None
            if other is None or at is None:
                kind = "drift"
            else:
                mine = [b for b in boxes if b.frame < at] + [b for b in tracks[other]
                                                              if b.frame >= at]
                theirs = [b for b in tracks[other] if b.frame < at] + [b for b in boxes
                                                                        if b.frame >= at]
                tracks[tid], tracks[other] = mine, theirs
                faults[tid] = faults[other] = "switch"
                continue
        if kind == "drift" and len(boxes) > 10:
            start = int(rng.integers(len(boxes) // 3, 2 * len(boxes) // 3))
            tracks[tid] = boxes[:start] + [
                TrackBox(b.frame, (b.box[0] + 4.0 * (i + 1), b.box[1], b.box[2] * (1 + 0.03 * i),
                                   b.box[3]), b.confidence)
                for i, b in enumerate(boxes[start:])]
            faults[tid] = "drift"
        elif len(boxes) > 10:
            start = int(rng.integers(3, len(boxes) - 6))
            back = boxes[start + 4]
            tracks[tid] = [*boxes[:start], TrackBox(back.frame, back.box, 0.35),
                           *boxes[start + 5:]]
            faults[tid] = "lost"
    return FaultyTracks(tracks, faults)
