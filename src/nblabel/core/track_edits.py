"""Review of video by track, pure: the decisions a reviewer makes on whole tracks.

A :class:`Track` is one object's boxes by frame, its label and its review status. Each review
action is one function that returns the tracks it changes (their final state), so one action is
one journal transaction and one undo step, whatever the number of frames it touches:

- :func:`accept` / :func:`reject` a whole track; :func:`relabel` it;
- :func:`fix_box`: the box on one frame is set and becomes a keyframe; the correction is spread
  to the frames around it (see below);
- :func:`split` a track in two at a frame; :func:`merge` two tracks into one;
  :func:`swap` two tracks' identities from a frame on (the fix for an identity switch at a
  crossing: what would otherwise be two splits and two merges);
- :func:`end` a track at a frame (the tracker followed something else after);
- :func:`retracked`: a box fixed on one frame and followed forward on the pixels
  (:func:`nblabel.sources.retrack.follow`) until the next keyframe;
- :func:`bridge` a stretch where the object was hidden: linear between the boxes around it;
- :func:`new_track` from keyframes drawn by the reviewer (linear in between).

How a fix spreads (``fix_box``): the tracker's boxes keep their motion and the reviewer's
corrections are interpolated between keyframes. The correction (the reviewer's box minus the
tracker's) is exact at a keyframe, linear between two keyframes, held after the last keyframe,
and fades linearly to zero over ``fade`` frames before the first one. So a drifting box is put
back with two or three keyframes, and a box that was right stays right. Frames the tracker
missed inside the track (gaps) are filled by interpolating the neighbouring boxes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nblabel.core.labels import STATUSES as _STATUSES
from nblabel.core.records import StateRecord
from nblabel.core.tracks import TrackBox, interpolate

__all__ = [
    "STATUSES",
    "Track",
    "TrackDecision",
    "accept",
    "bridge",
    "end",
    "fill_gaps",
    "fix_box",
    "merge",
    "new_track",
    "reject",
    "relabel",
    "retracked",
    "set_attributes",
    "split",
    "swap",
    "track_from_dict",
    "track_to_dict",
]

XYWH = tuple[float, float, float, float]
#: Review statuses of a track: the one list (index = code on the wire).
STATUSES = _STATUSES


@dataclass(frozen=True)
class Track:
    """One track under review: ``boxes`` by frame, ``keyframes`` set by the reviewer,
    ``tracker`` the boxes as proposed (kept so fixes spread from them)."""

    id: str
    label: str
    boxes: Mapping[int, XYWH]
    status: str = "pending"
    confidence: Mapping[int, float | None] = field(default_factory=dict)
    keyframes: frozenset[int] = frozenset()
    tracker: Mapping[int, XYWH] = field(default_factory=dict)
    #: The track's attributes (occluded, ...; :mod:`nblabel.core.attributes`), on every box.
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"track {self.id}: unknown status {self.status!r}")
        for f, b in self.boxes.items():
            if len(b) != 4 or b[2] <= 0 or b[3] <= 0:
                raise ValueError(f"track {self.id}, frame {f}: the box {b} has no area")

    @property
    def frames(self) -> list[int]:
        return sorted(self.boxes)

    @property
    def first(self) -> int:
        return min(self.boxes)

    @property
    def last(self) -> int:
        return max(self.boxes)

    def track_boxes(self) -> list[TrackBox]:
        return [TrackBox(f, self.boxes[f], self.confidence.get(f)) for f in self.frames]

    @classmethod
    def proposed(cls, track_id: str, label: str, boxes: Sequence[TrackBox]) -> Track:
        """A tracker's track, pending review."""
        by = {b.frame: b.box for b in boxes}
        return cls(track_id, label, by, confidence={b.frame: b.confidence for b in boxes},
                   tracker=dict(by))


def _edited(t: Track, **changes: object) -> Track:
    status = "added" if t.status == "added" else "edited"
    return replace(t, status=status, **changes)  # type: ignore[arg-type]


def accept(t: Track) -> list[Track]:
    return [replace(t, status="accepted" if t.status == "pending" else t.status)]


def reject(t: Track) -> list[Track]:
    return [replace(t, status="rejected")]


def set_attributes(t: Track, values: Mapping[str, Any]) -> list[Track]:
    """The track with ``values`` set on its attributes (None clears one), checked already."""
    merged = {k: v for k, v in {**t.attributes, **values}.items() if v is not None}
    return [_edited(t, attributes=merged)]


def relabel(t: Track, label: str) -> list[Track]:
    if not label:
        raise ValueError(f"track {t.id}: the new label is empty")
    return [_edited(t, label=label)]


def _lerp(a: XYWH, b: XYWH, w: float) -> XYWH:
    return (a[0] + (b[0] - a[0]) * w, a[1] + (b[1] - a[1]) * w,
            a[2] + (b[2] - a[2]) * w, a[3] + (b[3] - a[3]) * w)


def fill_gaps(boxes: Mapping[int, XYWH]) -> dict[int, XYWH]:
    """``boxes`` with the frames missing between its first and last filled linearly."""
    keys = [TrackBox(f, b) for f, b in sorted(boxes.items())]
    return {b.frame: b.box for b in interpolate(keys)} if len(keys) > 1 else dict(boxes)


def _base(t: Track) -> dict[int, XYWH]:
    """The boxes corrections are measured from: the tracker's (drawn ones where it had none),
    gaps filled."""
    return fill_gaps({**t.tracker, **{f: b for f, b in t.boxes.items() if f not in t.tracker}})


def fix_box(t: Track, frame: int, box: XYWH, fade: int = 30) -> list[Track]:
    """Set ``box`` on ``frame`` (a keyframe) and spread the correction (module doc)."""
    if box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"track {t.id}, frame {frame}: the box {box} has no area")
    base = _base(t)
    if frame not in base:  # extending the track: the nearest box is the base there
        near = min(base, key=lambda f: abs(f - frame))
        base[frame] = base[near]
        base = fill_gaps(base)
    keys = {**{k: t.boxes[k] for k in t.keyframes if k in t.boxes}, frame: box}
    delta = {k: tuple(b - o for b, o in zip(keys[k], base[k], strict=True))
             for k in keys}
    order = sorted(delta)
    zero = (0.0, 0.0, 0.0, 0.0)
    out: dict[int, XYWH] = {}
    for f, b in base.items():
        if f in delta:
            d = delta[f]
        elif f < order[0]:
            w = max(0.0, 1 - (order[0] - f) / fade) if fade > 0 else 0.0
            d = _lerp(zero, delta[order[0]], w)  # type: ignore[arg-type]
        elif f > order[-1]:
            d = delta[order[-1]]
        else:
            i = next(i for i, k in enumerate(order) if k > f)
            a, c = order[i - 1], order[i]
            d = _lerp(delta[a], delta[c], (f - a) / (c - a))  # type: ignore[arg-type]
        nb = (b[0] + d[0], b[1] + d[1], b[2] + d[2], b[3] + d[3])
        out[f] = nb if nb[2] > 0 and nb[3] > 0 else b
    out[frame] = box
    lo, hi = min(t.first, frame), max(t.last, frame)
    boxes = {f: b for f, b in out.items() if lo <= f <= hi}
    return [_edited(t, boxes=boxes, keyframes=frozenset(keys))]


def bridge(t: Track, start: int, stop: int) -> list[Track]:
    """Replace the boxes strictly between frames ``start`` and ``stop`` by the linear
    interpolation of the boxes there (both become keyframes): the fix for a stretch where the
    object was hidden and the tracker's boxes followed only its visible part, or nothing."""
    if not (start in t.boxes and stop in t.boxes and stop - start >= 2):
        raise ValueError(f"track {t.id}: frames {start} and {stop} must both hold a box and "
                         "have frames between them")
    base = _base(t)
    boxes, tracker = dict(t.boxes), dict(t.tracker)
    for f in range(start + 1, stop):
        w = (f - start) / (stop - start)
        boxes[f] = _lerp(t.boxes[start], t.boxes[stop], w)
        # The bridged stretch is the base later fixes spread from (the tracker's boxes there
        # were wrong): with the end boxes' corrections interpolated, it gives the same boxes.
        tracker[f] = _lerp(base[start], base[stop], w)
    return [_edited(t, boxes=boxes, tracker=tracker, keyframes=t.keyframes | {start, stop})]


def retracked(t: Track, frame: int, box: XYWH, boxes: Mapping[int, XYWH]) -> list[Track]:
    """``t`` with ``box`` on ``frame`` (a keyframe) and ``boxes`` (a re-tracking from it) on the
    frames after; they become the base later fixes spread from, as a tracker's boxes are."""
    if box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"track {t.id}, frame {frame}: the box {box} has no area")
    new = {frame: box, **boxes}
    return [_edited(t, boxes={**t.boxes, **new}, tracker={**t.tracker, **new},
                    keyframes=t.keyframes | {frame})]


def _part(t: Track, keep: set[int], **changes: object) -> Track:
    return replace(t, boxes={f: b for f, b in t.boxes.items() if f in keep},
                   confidence={f: c for f, c in t.confidence.items() if f in keep},
                   tracker={f: b for f, b in t.tracker.items() if f in keep},
                   keyframes=frozenset(k for k in t.keyframes if k in keep),
                   **changes)  # type: ignore[arg-type]


def split(t: Track, frame: int, new_id: str) -> list[Track]:
    """``t`` keeps its frames before ``frame``; a new track ``new_id`` gets the rest."""
    if not t.first < frame <= t.last:
        raise ValueError(f"track {t.id} runs over frames {t.first}-{t.last}: it cannot be "
                         f"split at frame {frame}")
    before = {f for f in t.boxes if f < frame}
    after = set(t.boxes) - before
    return [_edited(_part(t, before)), _part(t, after, id=new_id, status="added")]


def end(t: Track, frame: int) -> list[Track]:
    """``t`` ends at ``frame`` (its boxes after it are dropped)."""
    if not t.first <= frame <= t.last:
        raise ValueError(f"track {t.id} runs over frames {t.first}-{t.last}: it cannot end at "
                         f"frame {frame}")
    return [_edited(_part(t, {f for f in t.boxes if f <= frame}))]


def merge(a: Track, b: Track) -> list[Track]:
    """``b`` joins ``a`` (one object, two ids): ``a`` takes ``b``'s frames where it has none,
    the gap between them is filled, and ``b`` is rejected."""
    if a.id == b.id:
        raise ValueError(f"track {a.id} cannot be merged with itself")
    boxes = fill_gaps({**b.boxes, **a.boxes})
    merged = _edited(a, boxes=boxes, confidence={**b.confidence, **a.confidence},
                     tracker={**b.tracker, **a.tracker}, keyframes=a.keyframes | b.keyframes)
    return [merged, replace(b, status="rejected")]


def swap(a: Track, b: Track, frame: int) -> list[Track]:
    """Exchange ``a``'s and ``b``'s boxes from ``frame`` on (an identity switch there)."""
    if a.id == b.id:
        raise ValueError(f"track {a.id} cannot be swapped with itself")

    def before(t: Track) -> set[int]:
        return {f for f in t.boxes if f < frame}

    def after(t: Track) -> set[int]:
        return {f for f in t.boxes if f >= frame}

    na, nb = _part(a, before(a)), _part(b, before(b))
    la, lb = _part(a, after(a)), _part(b, after(b))

    def join(head: Track, tail: Track) -> Track:
        return _edited(head, boxes={**head.boxes, **tail.boxes},
                       confidence={**head.confidence, **tail.confidence},
                       tracker={**head.tracker, **tail.tracker},
                       keyframes=head.keyframes | tail.keyframes)

    return [join(na, lb), join(nb, la)]


def new_track(track_id: str, label: str, keyframes: Mapping[int, XYWH]) -> list[Track]:
    """A track the tracker missed, drawn on ``keyframes`` (linear in between)."""
    if not keyframes:
        raise ValueError(f"track {track_id}: a new track needs at least one keyframe")
    boxes = fill_gaps(keyframes)
    return [Track(track_id, label, boxes, status="added", keyframes=frozenset(keyframes))]


def track_to_dict(t: Track) -> dict[str, Any]:
    return {"id": t.id, "label": t.label, "status": t.status,
            "boxes": {str(f): list(b) for f, b in t.boxes.items()},
            "confidence": {str(f): c for f, c in t.confidence.items() if c is not None},
            "keyframes": sorted(t.keyframes),
            "tracker": {str(f): list(b) for f, b in t.tracker.items()},
            **({"attributes": dict(t.attributes)} if t.attributes else {})}


def track_from_dict(d: Mapping[str, Any]) -> Track:
    def boxes(m: Mapping[str, Sequence[float]]) -> dict[int, XYWH]:
        return {int(f): (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
                for f, b in m.items()}

    return Track(str(d["id"]), str(d["label"]), boxes(d["boxes"]), str(d["status"]),
                 {int(f): float(c) for f, c in d.get("confidence", {}).items()},
                 frozenset(int(k) for k in d.get("keyframes", [])), boxes(d.get("tracker", {})),
                 dict(d.get("attributes") or {}))


class TrackDecision(StateRecord):
    """One track's state after a review action (``track=None``: the action was undone back to
    no decision), journaled with the key ``track:<id>`` so the latest per track wins."""

    KIND = "track"

    @staticmethod
    def dump(state: Any) -> dict[str, Any]:
        return track_to_dict(state)

    @staticmethod
    def load(d: Mapping[str, Any]) -> Any:
        return track_from_dict(d)

    @property
    def track_id(self) -> str:
        return self.item_id

    @property
    def track(self) -> Track | None:
        return self.state
