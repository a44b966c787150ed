"""Ultralytics YOLO models (detect, segment, classify) as proposal sources, offline-ready."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nblabel.core.labels import Box, ImageSize, InvalidLabelError, Proposal

if TYPE_CHECKING:
    from PIL import Image


from nblabel.sources.base import TASKS, LabelMap, _Source

__all__ = ["UltralyticsSource", "prepare_ultralytics"]

log = logging.getLogger(__name__)


def prepare_ultralytics(config_dir: str | os.PathLike[str] | None = None) -> None:
    """Make ultralytics work with no network: settings sync off and a local font.

    Training plots need ``Arial.ttf`` in ultralytics' config folder and would fetch it from the
    internet; matplotlib's DejaVuSans is copied there instead. Call before importing ultralytics
    when ``config_dir`` is given (it sets ``YOLO_CONFIG_DIR``).
    """
    if config_dir is not None:
        os.environ["YOLO_CONFIG_DIR"] = os.fspath(config_dir)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics.utils import SETTINGS, USER_CONFIG_DIR

    # No usage reporting, and no experiment-tracker callbacks (Ray Tune's among them, once Ray
    # is installed for pre-annotation) hooking into nblabel's training runs.
    off = {k: False for k in ("sync", "raytune", "mlflow", "comet", "clearml", "dvc")
           if SETTINGS.get(k)}
    if off:
        SETTINGS.update(off)
    font = Path(USER_CONFIG_DIR) / "Arial.ttf"
    if not font.exists():
        import shutil

        import matplotlib

        src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        font.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, font)


class UltralyticsSource(_Source):
    """Proposals from an ultralytics YOLO model: detect, segment or classify.

    ``model`` is a ``YOLO`` object or a path/name for one: ``"yolo11n.pt"`` downloads official
    weights when a user has network access; a local ``.pt`` (for example one trained by nblabel)
    needs none. The task and class names come from the model. ``device=None`` lets ultralytics
    choose (the first CUDA GPU when present, else the CPU). ``conf`` is low on purpose: reviewers
    see weak proposals too, and the widget's threshold hides them. Segmentation masks are the
    model's polygons drawn at the image's full resolution; a classifier's proposal carries the
    probabilities of every class. ``agnostic_nms=True`` suppresses overlapping boxes across
    classes, so a reviewer sees one proposal per object (a class confusion is one box to
    relabel, not two to sort out); the default keeps ultralytics' per-class suppression, whose
    duplicates carry the class doubt that uncertainty scores use.
    """

    def __init__(
        self,
        model: Any,
        *,
        conf: float = 0.05,
        iou: float = 0.6,
        imgsz: int = 640,
        device: str | int | None = None,
        max_det: int = 300,
        agnostic_nms: bool = False,
        label_map: Mapping[str | int, str | None] | LabelMap | None = None,
        name: str | None = None,
    ) -> None:
        self._weights: str | None = None
        if isinstance(model, str | os.PathLike):
            self._weights = os.fspath(model)
            model = self._load(self._weights)
        task = getattr(model, "task", "detect")
        if task not in TASKS:
            raise ValueError(f"ultralytics task {task!r} is not supported (only {TASKS})")
        self.model = model
        self.conf = conf
        self.iou = iou
        self.imgsz = imgsz
        self.device = device
        self.max_det = max_det
        self.agnostic_nms = agnostic_nms
        ckpt = getattr(model, "ckpt_path", None) or getattr(model, "model_name", None) or "yolo"
        self.name = name or Path(str(ckpt)).stem
        super().__init__(task, label_map)

    @staticmethod
    def _load(weights: str) -> Any:
        prepare_ultralytics()
        from ultralytics import YOLO

        return YOLO(weights)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle by weights path when there is one (Ray workers load the model themselves)."""
        state = self.__dict__.copy()
        if self._weights is not None:
            state["model"] = None
        else:  # a copy without its predictor (threads, a compiled model); ours keeps its own
            model = copy.copy(self.model)
            model.predictor = None
            state["model"] = model
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.model is None and self._weights is not None:
            self.model = self._load(self._weights)

    @property
    def class_names(self) -> list[str]:
        names = self.model.names
        return [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)

    def torch_module(self) -> Any:
        """The torch module that runs predictions (for MC dropout), once one has run."""
        predictor = getattr(self.model, "predictor", None)
        backend = getattr(predictor, "model", None)  # AutoBackend, a copy of the model
        inner = getattr(getattr(backend, "backend", None), "model", None)  # ultralytics >= 8.4
        return inner or backend or getattr(self.model, "model", None)

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal]]:
        if not images:
            return []
        kwargs: dict[str, Any] = {"conf": self.conf, "iou": self.iou, "imgsz": self.imgsz,
                                  "max_det": self.max_det, "verbose": False}
        if self.agnostic_nms:
            kwargs["agnostic_nms"] = True
        if self.device is not None:
            kwargs["device"] = self.device
        results = self.model.predict(list(images), **kwargs)
        return [self._convert(img, res) for img, res in zip(images, results, strict=True)]

    def _convert(self, img: Image.Image, res: Any) -> list[Proposal]:
        size = ImageSize(img.width, img.height)
        names = res.names
        if self.task == "classify":
            probs = res.probs.data.cpu().numpy().tolist()
            return self._classification({str(names[k]): p for k, p in enumerate(probs)}, size,
                                        [str(names[k]) for k in range(len(probs))])
        proposals: list[Proposal] = []
        boxes = res.boxes
        if boxes is None or not len(boxes):
            return proposals
        xyxy = boxes.xyxy.cpu().numpy().tolist()
        confs = boxes.conf.cpu().numpy().tolist()
        classes = boxes.cls.cpu().numpy().astype(int).tolist()
        polygons = res.masks.xy if self.task == "segment" and res.masks is not None else None
        for j, ((x1, y1, x2, y2), c, k) in enumerate(zip(xyxy, confs, classes, strict=True)):
            try:
                box = Box.from_xyxy(x1, y1, x2, y2)
            except InvalidLabelError as exc:
                self.dropped += 1
                log.debug("dropped a proposal from %s: %s", self.name, exc)
                continue
            mask = None
            if polygons is not None:
                with contextlib.suppress(InvalidLabelError):
                    mask = _polygon_mask(polygons[j], box.clipped(size))
            p = self._proposal(names[k], box, c, size, index=k, mask=mask)
            if p is not None:
                proposals.append(p)
        return proposals


def _polygon_mask(polygon: Any, box: Box) -> bytes | None:
    """An instance mask (PNG bytes) covering ``box`` from a polygon in image pixels."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    from nblabel.core.images import encode_mask

    w, h = max(1, round(box.w)), max(1, round(box.h))
    pts = [(float(x) - box.x, float(y) - box.y) for x, y in polygon]
    if len(pts) < 3:
        return None
    canvas = PILImage.new("L", (w, h), 0)
    ImageDraw.Draw(canvas).polygon(pts, fill=255)
    return encode_mask(canvas)
