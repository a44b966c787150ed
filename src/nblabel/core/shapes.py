"""Keypoint instances and polylines, and the review actions on them (pure: no FiftyOne here).

A :class:`Shape` is one label made of points, in image pixels:

- ``kind="keypoints"``: a fixed list of named points (the :class:`Skeleton`'s ``names``), each
  present or absent (``None``, COCO visibility 0), visible or occluded (COCO 2 or 1), with the
  model's confidence per point;
- ``kind="polyline"``: a list of vertices, open (a line) or ``closed`` (a polygon).

The review state is kept per point and per shape. A shape is ``pending`` until it is decided as
a whole (accepted, rejected) or until its last pending point is decided; point actions (accept
one point, reject it, drag it, mark it occluded, place a missing one) change that point only.
A decided shape that had a point changed is ``edited``; a shape drawn by the reviewer is
``added``. Every action is a function from a shape to the new shape, so the review session
journals and undoes shapes, not actions.

Validation (one place, used by every source and by the widget):

- a point must have finite coordinates; a *proposed* point outside the image is dropped
  (absent) and named in the problems of :func:`checked`; a point the reviewer places or drags
  is clipped to the image;
- a keypoint instance must have one point per skeleton name (:class:`SkeletonMismatch`);
- a confidence must be in ``[0, 1]``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nblabel.core.labels import STATUSES as _STATUSES
from nblabel.core.labels import ImageSize, InvalidLabelError
from nblabel.core.records import StateRecord

__all__ = [
    "KINDS",
    "POINT_STATES",
    "STATUSES",
    "Shape",
    "ShapeDecision",
    "Skeleton",
    "SkeletonMismatch",
    "accept",
    "accept_point",
    "checked",
    "hide_point",
    "move_point",
    "new_id",
    "new_shape",
    "reject",
    "reject_point",
    "reshape",
]

Pt = tuple[float, float]
KINDS = ("keypoints", "polyline")
#: Shape statuses and point states: the one list (index = code on the wire).
STATUSES = POINT_STATES = _STATUSES


class SkeletonMismatch(InvalidLabelError):
    """A keypoint instance whose number of points is not the skeleton's."""


@dataclass(frozen=True)
class Skeleton:
    """The names of a keypoint instance's points, in order, and the edges drawn between them
    (pairs of indices), as FiftyOne's ``KeypointSkeleton``."""

    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if not self.names:
            raise InvalidLabelError("a skeleton needs at least one point name")
        if len(set(self.names)) != len(self.names):
            raise InvalidLabelError(f"skeleton point names repeat: {list(self.names)}")
        n = len(self.names)
        for a, b in self.edges:
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise InvalidLabelError(
                    f"skeleton edge ({a}, {b}) does not join two of its {n} points")

    @classmethod
    def from_fiftyone(cls, skeleton: Any) -> Skeleton:
        return cls(tuple(skeleton.labels), tuple((int(a), int(b)) for a, b in skeleton.edges))

    def to_fiftyone(self) -> Any:
        import fiftyone as fo

        return fo.KeypointSkeleton(labels=list(self.names), edges=[list(e) for e in self.edges])

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "edges": [list(e) for e in self.edges]}


def _pt(name: str, xy: Sequence[float]) -> Pt:
    if len(xy) != 2:
        raise InvalidLabelError(f"{name} needs 2 coordinates, got {len(xy)}")
    x, y = float(xy[0]), float(xy[1])
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidLabelError(f"{name} is ({x}, {y}): coordinates must be finite")
    return (x, y)


@dataclass(frozen=True)
class Shape:
    """A keypoint instance or a polyline (see the module doc); coordinates in pixels."""

    id: str
    kind: str
    label: str
    points: tuple[Pt | None, ...]
    confidence: tuple[float | None, ...] = ()
    visible: tuple[bool, ...] = ()
    point_status: tuple[str, ...] = ()
    status: str = "pending"
    score: float | None = None
    closed: bool = False
    #: The shape's attributes (occluded, ...; :mod:`nblabel.core.attributes`).
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidLabelError(f"shape kind must be one of {KINDS}, got {self.kind!r}")
        if not self.label:
            raise InvalidLabelError("a shape needs a class")
        if self.status not in STATUSES:
            raise InvalidLabelError(f"shape status {self.status!r} is not one of {STATUSES}")
        n = len(self.points)
        pts = tuple(None if p is None else _pt(f"point {i}", p) for i, p in enumerate(self.points))
        object.__setattr__(self, "points", pts)
        fill = {"confidence": None, "visible": True, "point_status": "pending"}
        for name, default in fill.items():
            values = getattr(self, name) or (default,) * n
            if len(values) != n:
                raise InvalidLabelError(f"shape {self.id}: {len(values)} {name} values for "
                                        f"{n} points")
            object.__setattr__(self, name, tuple(values))
        for c in self.confidence:
            if c is not None and not 0.0 <= c <= 1.0:
                raise InvalidLabelError(f"shape {self.id}: point confidence {c} not in [0, 1]")
        if self.kind == "polyline" and sum(p is not None for p in pts) < 2:
            raise InvalidLabelError(f"polyline {self.id} needs at least 2 points")

    @property
    def present(self) -> list[int]:
        """Indices of the points that are there."""
        return [i for i, p in enumerate(self.points) if p is not None]

    @property
    def decided(self) -> bool:
        return self.status != "pending"

    @property
    def kept(self) -> bool:
        """Whether the shape goes into the reviewed labels."""
        return self.status in ("accepted", "edited", "added")

    def mean_confidence(self) -> float | None:
        values = [c for i, c in enumerate(self.confidence)
                  if c is not None and self.points[i] is not None]
        if values:
            return sum(values) / len(values)
        return self.score


def checked(shape: Shape, size: ImageSize, skeleton: Skeleton | None,
            problems: list[str], where: str = "") -> Shape | None:
    """A proposed shape made fit for review: points outside the image dropped, a keypoint
    instance that does not match ``skeleton`` refused (None). Each problem is appended to
    ``problems`` as a sentence naming ``where`` (sample), the shape and the point."""
    at = f"{where}: " if where else ""
    if shape.kind == "keypoints" and skeleton is not None \
            and len(shape.points) != len(skeleton.names):
        problems.append(f"{at}{shape.label} {shape.id} has {len(shape.points)} keypoints, the "
                        f"skeleton has {len(skeleton.names)} ({', '.join(skeleton.names)}): "
                        "left out")
        return None
    points = list(shape.points)
    for i, p in enumerate(points):
        if p is not None and not (0 <= p[0] <= size.width and 0 <= p[1] <= size.height):
            name = skeleton.names[i] if skeleton and shape.kind == "keypoints" else f"point {i}"
            problems.append(f"{at}{shape.label} {shape.id}: {name} at ({p[0]:.0f}, {p[1]:.0f}) "
                            f"lies outside the {size.width}x{size.height} image: dropped")
            points[i] = None
    if shape.kind == "polyline" and sum(p is not None for p in points) < 2:
        problems.append(f"{at}polyline {shape.id} has fewer than 2 points in the image: left out")
        return None
    if shape.kind == "polyline":
        return replace(shape, points=tuple(p for p in points if p is not None),
                       confidence=(), visible=(), point_status=())
    return replace(shape, points=tuple(points))


def _clip(xy: Sequence[float], size: ImageSize | None) -> Pt:
    x, y = _pt("point", xy)
    if size is None:
        return (x, y)
    return (min(max(x, 0.0), float(size.width)), min(max(y, 0.0), float(size.height)))


def _with_point(s: Shape, i: int, **changes: Any) -> Shape:
    if not 0 <= i < len(s.points):
        raise InvalidLabelError(f"{s.kind} {s.id} has no point {i}")
    values = {name: list(getattr(s, name)) for name in ("points", "visible", "point_status")}
    for name, value in changes.items():
        values[name][i] = value
    out = replace(s, **{k: tuple(v) for k, v in values.items()})  # type: ignore[arg-type]
    if out.status == "pending" and "pending" not in [
            st for j, st in enumerate(out.point_status) if out.points[j] is not None]:
        return _settle(out)
    return out


def _changed(s: Shape) -> bool:
    return any(st in ("edited", "rejected", "added") for st in s.point_status)


def _settle(s: Shape) -> Shape:
    status = "added" if s.status == "added" else ("edited" if _changed(s) else "accepted")
    return replace(s, status=status, point_status=tuple(
        "accepted" if st == "pending" else st for st in s.point_status))


def accept(s: Shape) -> Shape:
    """Keep the shape as it is now (its pending points accepted)."""
    return _settle(s)


def reject(s: Shape) -> Shape:
    """The shape is not there: it is left out of the reviewed labels."""
    return replace(s, status="rejected")


def accept_point(s: Shape, i: int) -> Shape:
    if s.points[i] is None:
        raise InvalidLabelError(f"{s.label} {s.id} has no point {i} to accept: place it")
    return _with_point(s, i, point_status="accepted" if s.point_status[i] == "pending"
                       else s.point_status[i])


def reject_point(s: Shape, i: int) -> Shape:
    """The point is not there (COCO visibility 0): removed from the instance."""
    return _with_point(s, i, points=None, point_status="rejected")


def move_point(s: Shape, i: int, xy: Sequence[float], size: ImageSize | None = None) -> Shape:
    """Drag point ``i`` to ``xy`` (or place it where it was absent); it becomes visible."""
    state = "added" if s.points[i] is None or s.status == "added" else "edited"
    return _with_point(s, i, points=_clip(xy, size), visible=True, point_status=state)


def hide_point(s: Shape, i: int) -> Shape:
    """Toggle point ``i`` between visible and occluded (COCO visibility 2 and 1)."""
    if s.points[i] is None:
        raise InvalidLabelError(f"{s.label} {s.id} has no point {i} to mark: place it first")
    state = "added" if s.status == "added" else "edited"
    return _with_point(s, i, visible=not s.visible[i], point_status=state)


def reshape(s: Shape, points: Sequence[Sequence[float]], size: ImageSize | None = None,
            closed: bool | None = None) -> Shape:
    """A polyline's new vertices (dragged, inserted, removed): the shape is decided as
    edited (or stays added)."""
    if s.kind != "polyline":
        raise InvalidLabelError(f"{s.kind} {s.id} is not a polyline: move its points one by one")
    pts = tuple(_clip(p, size) for p in points)
    return replace(s, points=pts, confidence=(), visible=(), point_status=(),
                   closed=s.closed if closed is None else closed,
                   status="added" if s.status == "added" else "edited")


def new_shape(kind: str, label: str, points: Sequence[Sequence[float] | None], *,
              size: ImageSize | None = None, closed: bool = False,
              id: str | None = None) -> Shape:
    """A shape the reviewer draws: a keypoint instance point by point (``None`` for the
    points not placed) or a polyline."""
    pts = tuple(None if p is None else _clip(p, size) for p in points)
    states = tuple("rejected" if p is None else "added" for p in pts)
    return Shape(id or new_id(), kind, label, pts, point_status=states,
                 status="added", closed=closed)


def new_id() -> str:
    """A fresh shape id, usable as a FiftyOne label id (24 hex digits)."""
    return uuid.uuid4().hex[:24]


def shape_to_dict(s: Shape) -> dict[str, Any]:
    return {"id": s.id, "kind": s.kind, "label": s.label,
            "points": [None if p is None else list(p) for p in s.points],
            "confidence": list(s.confidence), "visible": list(s.visible),
            "point_status": list(s.point_status), "status": s.status, "score": s.score,
            "closed": s.closed, **({"attributes": dict(s.attributes)} if s.attributes else {})}


def shape_from_dict(d: Mapping[str, Any]) -> Shape:
    return Shape(str(d["id"]), str(d["kind"]), str(d["label"]),
                 tuple(None if p is None else (float(p[0]), float(p[1])) for p in d["points"]),
                 tuple(d.get("confidence") or ()), tuple(d.get("visible") or ()),
                 tuple(d.get("point_status") or ()), str(d.get("status", "pending")),
                 d.get("score"), bool(d.get("closed", False)), dict(d.get("attributes") or {}))


class ShapeDecision(StateRecord):
    """One shape's state after a review action (``shape=None``: undone back to no decision),
    journaled with the key ``shape:<id>`` so the latest per shape wins."""

    KIND = "shape"

    @staticmethod
    def dump(state: Any) -> dict[str, Any]:
        return shape_to_dict(state)

    @staticmethod
    def load(d: Mapping[str, Any]) -> Any:
        return shape_from_dict(d)

    @property
    def shape_id(self) -> str:
        return self.item_id

    @property
    def shape(self) -> Shape | None:
        return self.state
