"""Sources of keypoint instances and polylines: ultralytics pose and segment models, any callable.

A shape source proposes :class:`~nblabel.core.shapes.Shape` lists, one per image, or a
:class:`~nblabel.sources.base.ProposalError` for an image it could not do (the run goes on).

- :class:`UltralyticsShapes` with a **pose** model proposes keypoint instances: each point with
  the model's confidence; a point under ``min_point_conf`` (0.5, the threshold ultralytics
  draws points at) is proposed as absent, since rejecting a wrong point costs a reviewer about
  what placing a missing one does. The instance's class and ``score`` come from its box.
  With a **segment** model it proposes each mask's outline as a closed polyline (ultralytics'
  ``masks.xy``, simplified to ``tolerance`` pixels so a reviewer drags few vertices).
- :class:`CallableShapes` wraps any function ``image (H x W x 3 uint8) -> [{"label", "points",
  "confidence" (per point, optional), "score" (optional), "closed" (polylines)}]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nblabel.core.labels import InvalidLabelError
from nblabel.core.shapes import Shape, Skeleton, new_id
from nblabel.sources.base import LabelMap, ProposalError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["CallableShapes", "ShapeSource", "UltralyticsShapes"]


class ShapeSource:
    """What a shape source has: a ``name``, the ``kind`` it proposes, the ``skeleton`` of its
    keypoints (None for polylines or when unknown) and :meth:`propose`."""

    name: str = "shapes"
    kind: str = "keypoints"
    skeleton: Skeleton | None = None

    def propose(self, images: Sequence[Image.Image]) -> list[list[Shape] | ProposalError]:
        raise NotImplementedError


class UltralyticsShapes(ShapeSource):
    """Keypoints from an ultralytics pose model, or polygons from a segment model (see the
    module doc). ``skeleton`` names the points (default: ``kp0..`` with no edges, or the
    point names ultralytics keeps with a model trained on data with ``kpt_names``, as
    nblabel's YOLO pose export writes)."""

    def __init__(self, model: Any, *, conf: float = 0.25, imgsz: int = 640,
                 device: str | int | None = None, min_point_conf: float = 0.5,
                 tolerance: float = 1.5, skeleton: Skeleton | None = None,
                 label_map: Mapping[str | int, str | None] | LabelMap | None = None,
                 name: str | None = None) -> None:
        if isinstance(model, str | os.PathLike):
            from nblabel.sources.yolo import prepare_ultralytics

            prepare_ultralytics()
            from ultralytics import YOLO

            model = YOLO(os.fspath(model))
        task = getattr(model, "task", "")
        if task not in ("pose", "segment"):
            raise ValueError(f"an ultralytics {task!r} model proposes no shapes: use a pose "
                             "model (keypoints) or a segment model (polygons)")
        self.model = model
        self.kind = "keypoints" if task == "pose" else "polyline"
        self.conf, self.imgsz, self.device = conf, imgsz, device
        self.min_point_conf, self.tolerance = min_point_conf, tolerance
        self.label_map = label_map if isinstance(label_map, LabelMap) else LabelMap(label_map)
        self.name = name or "yolo-" + task
        if self.kind == "keypoints" and skeleton is None:
            k = int(model.model.kpt_shape[0]) if hasattr(model.model, "kpt_shape") else 0
            names: Any = getattr(model.model, "kpt_names", None)  # {class: names}
            if isinstance(names, Mapping):
                names = next(iter(names.values()), None)
            if not names or len(names) != k:
                names = [f"kp{i}" for i in range(k)]
            skeleton = Skeleton(tuple(str(n) for n in names)) if names else None
        self.skeleton = skeleton

    def propose(self, images: Sequence[Image.Image]) -> list[list[Shape] | ProposalError]:
        arrays = [np.asarray(im.convert("RGB"))[..., ::-1] for im in images]  # BGR, as cv2
        try:
            results = self.model.predict(arrays, conf=self.conf, imgsz=self.imgsz,
                                         device=self.device, verbose=False)
        except Exception as exc:  # the batch failed: each image says so, the run goes on
            return [ProposalError(f"{self.name} failed: {exc}") for _ in images]
        return [self._shapes(r) for r in results]

    def _shapes(self, r: Any) -> list[Shape] | ProposalError:
        names = r.names
        classes = r.boxes.cls.int().tolist() if r.boxes is not None else []
        scores = r.boxes.conf.tolist() if r.boxes is not None else []
        out: list[Shape] = []
        if self.kind == "keypoints":
            data = r.keypoints.data.cpu().numpy() if r.keypoints is not None else []
            for cls, score, kp in zip(classes, scores, data, strict=False):
                label = self.label_map(names[cls], cls)
                if label is None:
                    continue
                conf = kp[:, 2] if kp.shape[1] > 2 else np.ones(len(kp))
                pts = tuple((float(x), float(y)) if c >= self.min_point_conf else None
                            for (x, y), c in zip(kp[:, :2], conf, strict=True))
                out.append(Shape(new_id(), "keypoints", label, pts,
                                 tuple(float(np.clip(c, 0, 1)) for c in conf),
                                 score=float(score)))
            return out
        import cv2

        for cls, score, poly in zip(classes, scores, r.masks.xy if r.masks is not None else [],
                                    strict=False):
            label = self.label_map(names[cls], cls)
            if label is None or len(poly) < 3:
                continue
            simple = cv2.approxPolyDP(poly.astype(np.float32).reshape(-1, 1, 2),
                                      self.tolerance, True).reshape(-1, 2)
            if len(simple) < 3:
                continue
            out.append(Shape(new_id(), "polyline", label,
                             tuple((float(x), float(y)) for x, y in simple),
                             score=float(score), closed=True))
        return out


class CallableShapes(ShapeSource):
    """Shapes from any function (see the module doc); a bad item fails only its image."""

    def __init__(self, fn: Callable[[np.ndarray], Any], *, kind: str = "keypoints",
                 skeleton: Skeleton | None = None, name: str | None = None) -> None:
        if kind not in ("keypoints", "polyline"):
            raise ValueError(f"kind must be 'keypoints' or 'polyline', got {kind!r}")
        self.fn, self.kind, self.skeleton = fn, kind, skeleton
        self.name = name or str(getattr(fn, "__name__", "callable"))

    def propose(self, images: Sequence[Image.Image]) -> list[list[Shape] | ProposalError]:
        out: list[list[Shape] | ProposalError] = []
        for im in images:
            try:
                items = self.fn(np.asarray(im.convert("RGB")))
                out.append([self._one(d) for d in items])
            except (InvalidLabelError, KeyError, TypeError, ValueError) as exc:
                out.append(ProposalError(f"{self.name} returned a bad shape: {exc}"))
            except Exception as exc:
                out.append(ProposalError(f"{self.name} failed: {exc!r}"))
        return out

    def _one(self, d: Mapping[str, Any]) -> Shape:
        pts = tuple(None if p is None else (float(p[0]), float(p[1])) for p in d["points"])
        conf = tuple(d.get("confidence") or ())
        return Shape(new_id(), self.kind, str(d["label"]), pts, conf,
                     score=d.get("score"), closed=bool(d.get("closed", False)))
