"""Keypoint instances and polylines in FiftyOne: read proposals, write reviewed shapes.

FiftyOne keeps points relative to the image (``[0, 1]``), a missing keypoint as ``NaN``, the
per-point confidence in ``Keypoint.confidence`` and the skeleton on the dataset
(``dataset.skeletons[field]``, else ``dataset.default_skeleton``). nblabel adds COCO's
``visible`` (0, 1, 2) per point, which FiftyOne's COCO exporter reads, and the review state
(``SHAPE_ATTRS``). Writes are one bulk ``set_values`` keyed by sample id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from nblabel.core.labels import ImageSize, InvalidLabelError
from nblabel.core.shapes import Shape, Skeleton, checked
from nblabel.store import schema

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["image_sizes", "read_shapes", "set_skeleton", "skeleton_of", "to_label",
           "write_shapes"]


def skeleton_of(dataset: fo.Dataset, field: str) -> Skeleton | None:
    """The skeleton of ``field``'s keypoints (the field's own, else the dataset's default)."""
    sk = dataset.skeletons.get(field) or dataset.default_skeleton
    return Skeleton.from_fiftyone(sk) if sk is not None else None


def set_skeleton(dataset: fo.Dataset, field: str, skeleton: Skeleton) -> None:
    """Store ``skeleton`` as ``field``'s (FiftyOne draws it in the App, its exporters read
    its point names)."""
    dataset.skeletons = {**dataset.skeletons, field: skeleton.to_fiftyone()}
    dataset.save()


def quiet_metadata(view: Any) -> None:
    """Compute missing image metadata without FiftyOne's "Computing metadata..." line (it would
    print over a widget opening in the same cell)."""
    import logging

    logger = logging.getLogger("fiftyone.core.metadata")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        view.compute_metadata(progress=False)
    finally:
        logger.setLevel(level)


def image_sizes(dataset: fo.Dataset, sample_ids: Iterable[str]) -> dict[str, ImageSize]:
    """Each sample's image size, from its metadata (computed first where missing)."""
    ids = list(sample_ids)
    view = dataset.select(ids)
    if None in view.values("metadata.width"):
        quiet_metadata(view)
    out = {}
    for sid, w, h in zip(*view.values(["id", "metadata.width", "metadata.height"]),
                         strict=True):
        if not w or not h:
            raise InvalidLabelError(f"sample {sid}: the image could not be read for its size")
        out[sid] = ImageSize(int(w), int(h))
    return out


def _from_label(label: Any, kind: str, size: ImageSize) -> Shape:
    raw = label.points if kind == "keypoints" else (label.points[0] if label.points else [])
    pts: list[tuple[float, float] | None] = []
    for x, y in raw:
        if x is None or y is None or (isinstance(x, float) and math.isnan(x)) \
                or (isinstance(y, float) and math.isnan(y)):
            pts.append(None)
        else:
            pts.append((float(x) * size.width, float(y) * size.height))
    n = len(pts)
    conf = [None if c is None or (isinstance(c, float) and math.isnan(c)) else float(c)
            for c in (getattr(label, "confidence", None) or [None] * n)] \
        if kind == "keypoints" else []
    vis = label.get_attribute_value("visible", None) if kind == "keypoints" else None
    states = label.get_attribute_value("point_review", None)
    status = label.get_attribute_value("review", None) or "pending"
    score = label.get_attribute_value("instance_confidence", None)
    return Shape(str(label.id), kind, str(label.label), tuple(pts),
                 tuple(conf) if len(conf) == n else (),
                 tuple(v != 1 for v in vis) if vis and len(vis) == n else (),
                 tuple(states) if states and len(states) == n else (),
                 status if status in ("pending", "accepted", "rejected", "edited", "added")
                 else "pending",
                 None if score is None else float(score),
                 bool(getattr(label, "closed", False)))


def read_shapes(dataset: fo.Dataset, sample_ids: Iterable[str], field: str, kind: str,
                problems: list[str] | None = None) -> dict[str, list[Shape]]:
    """The shapes of ``field`` on each sample, in pixels, checked (:func:`checked`): a shape
    that does not fit is left out and named in ``problems``, the others are kept."""
    ids = list(sample_ids)
    problems = problems if problems is not None else []
    sizes = image_sizes(dataset, ids)
    skeleton = skeleton_of(dataset, field) if kind == "keypoints" else None
    _, attr = schema.shape_container(kind)
    out: dict[str, list[Shape]] = {sid: [] for sid in ids}
    if field not in dataset.get_field_schema():
        return out
    view = dataset.select(ids)
    for sid, value in zip(*view.values(["id", field]), strict=True):
        for label in getattr(value, attr, None) or []:
            try:
                shape = _from_label(label, kind, sizes[sid])
            except InvalidLabelError as exc:
                problems.append(f"sample {sid}, {field} {label.id}: {exc}: left out")
                continue
            fit = checked(shape, sizes[sid], skeleton, problems, f"sample {sid}")
            if fit is not None:
                out[sid].append(fit)
    return out


def to_label(shape: Shape, size: ImageSize, *, reviewer: str = "", source: str = "",
             at: datetime | None = None) -> Any:
    """``shape`` as a FiftyOne ``Keypoint`` or ``Polyline`` with nblabel's attributes."""
    import fiftyone as fo

    nan = float("nan")
    rel = [[nan, nan] if p is None else [p[0] / size.width, p[1] / size.height]
           for p in shape.points]
    attrs: dict[str, Any] = {"point_review": list(shape.point_status),
                             "instance_confidence": shape.score}
    if shape.status != "pending":
        attrs.update(review=shape.status, reviewer=reviewer,
                     reviewed_at=at or datetime.now(timezone.utc))
    if source:
        attrs["source"] = source
    attrs.update(shape.attributes)
    if shape.kind == "keypoints":
        conf = [nan if c is None else c for c in shape.confidence]
        vis = [0 if p is None else (2 if v else 1) for p, v in zip(shape.points, shape.visible,
                                                                   strict=True)]
        label = fo.Keypoint(label=shape.label, points=rel, visible=vis,
                            confidence=conf if any(c is not None for c in shape.confidence)
                            else None, **attrs)
    else:
        label = fo.Polyline(label=shape.label, points=[rel], closed=shape.closed,
                            filled=shape.closed, **attrs)
    label.id = shape.id if len(shape.id) == 24 else label.id
    return label


def write_shapes(dataset: fo.Dataset, shapes: Mapping[str, Iterable[Shape]], field: str,
                 kind: str, *, reviewer: str = "", source: str = "",
                 sizes: Mapping[str, ImageSize] | None = None) -> None:
    """Replace ``field`` on each sample of ``shapes`` with its shapes (one bulk write)."""
    import fiftyone as fo

    ids = list(shapes)
    if not ids:
        return
    schema.declare_shapes(dataset, field, kind)
    _, inner = schema.shape_container(kind)
    schema.declare(dataset, {
        f"{field}.{inner}.{n}": schema.ATTRIBUTE_KINDS[schema.stored_kind(v)]
        for sid in ids for s in shapes[sid] for n, v in s.attributes.items()})
    sizes = sizes or image_sizes(dataset, ids)
    at = datetime.now(timezone.utc)
    values = {}
    for sid in ids:
        labels = [to_label(s, sizes[sid], reviewer=reviewer, source=source, at=at)
                  for s in shapes[sid]]
        values[sid] = (fo.Keypoints(keypoints=labels) if kind == "keypoints"
                       else fo.Polylines(polylines=labels))
    dataset.select(ids).set_values(field, values, key_field="id")
