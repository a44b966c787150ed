"""Proposal sources: models that turn images into :class:`~nblabel.types.Proposal` lists.

A source is anything with a ``name`` and ``propose(images) -> list[list[Proposal]]`` (one list
per image, boxes in pixels of that image). Sources validate what their model returns through
:mod:`nblabel.types`: boxes are clipped to the image, NaN scores and empty boxes are dropped and
counted in :attr:`ProposalSource.dropped`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nblabel.types import Box, ImageSize, InvalidLabelError, Proposal

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ProposalSource", "UltralyticsSource", "prepare_ultralytics"]

log = logging.getLogger(__name__)


@runtime_checkable
class ProposalSource(Protocol):
    """What :func:`nblabel.preannotate.preannotate` needs from a model."""

    name: str
    dropped: int

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal]]: ...


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

    if SETTINGS.get("sync"):
        SETTINGS.update({"sync": False})
    font = Path(USER_CONFIG_DIR) / "Arial.ttf"
    if not font.exists():
        import shutil

        import matplotlib

        src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        font.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, font)


class UltralyticsSource:
    """Detection proposals from an ultralytics YOLO model.

    ``model`` is a ``YOLO`` object or a path/name for one: ``"yolo11n.pt"`` downloads official
    weights when a user has network access; a local ``.pt`` (for example one trained by nblabel)
    needs none. ``device=None`` lets ultralytics choose (the first CUDA GPU when present, else
    the CPU). ``conf`` is low on purpose: reviewers see weak proposals too, and the widget's
    threshold hides them.
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
        name: str | None = None,
    ) -> None:
        if isinstance(model, str | os.PathLike):
            prepare_ultralytics()
            from ultralytics import YOLO

            model = YOLO(os.fspath(model))
        self.model = model
        self.conf = conf
        self.iou = iou
        self.imgsz = imgsz
        self.device = device
        self.max_det = max_det
        ckpt = getattr(model, "ckpt_path", None) or getattr(model, "model_name", None) or "yolo"
        self.name = name or Path(str(ckpt)).stem
        self.dropped = 0

    @property
    def class_names(self) -> list[str]:
        names = self.model.names
        return [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal]]:
        if not images:
            return []
        kwargs: dict[str, Any] = {"conf": self.conf, "iou": self.iou, "imgsz": self.imgsz,
                                  "max_det": self.max_det, "verbose": False}
        if self.device is not None:
            kwargs["device"] = self.device
        results = self.model.predict(list(images), **kwargs)
        out: list[list[Proposal]] = []
        for img, res in zip(images, results, strict=True):
            size = ImageSize(img.width, img.height)
            names = res.names
            proposals: list[Proposal] = []
            boxes = res.boxes
            if boxes is not None and len(boxes):
                xyxy = boxes.xyxy.cpu().numpy().tolist()
                confs = boxes.conf.cpu().numpy().tolist()
                classes = boxes.cls.cpu().numpy().astype(int).tolist()
                for (x1, y1, x2, y2), c, k in zip(xyxy, confs, classes, strict=True):
                    try:
                        box = Box.from_xyxy(x1, y1, x2, y2).clipped(size)
                        proposals.append(Proposal(str(names[k]), box, c, source=self.name))
                    except InvalidLabelError as exc:
                        self.dropped += 1
                        log.debug("dropped a proposal from %s: %s", self.name, exc)
            out.append(proposals)
        return out
