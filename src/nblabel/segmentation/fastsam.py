"""FastSAM through ultralytics: segment everything once per image, then each prompt picks.

FastSAM (a YOLO segmentation model trained to find every object, e.g. ``FastSAM-s.pt``) has no
prompt decoder: :meth:`FastSAMSegmenter.prepare` runs it once per image (cached, run ahead by
the widget like SAM's encoder) and :func:`pick_mask` answers every click from those masks
without running the model again. The rule of the pick (the innermost segment under each
positive click, never one holding a negative click; with a box, the segment matching it best)
is ours, written once and tested on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nblabel.core.labels import ImageSize
from nblabel.segmentation.base import PerImage, Prompt, SegmentationError, bgr

if TYPE_CHECKING:
    from pathlib import Path

    from PIL import Image

__all__ = ["FastSAMSegmenter", "pick_mask"]


def pick_mask(masks: np.ndarray, prompt: Prompt) -> np.ndarray:
    """The mask for ``prompt`` among ``masks`` (N x H x W, every segment of the image).

    Segments holding a negative click are left out. Each positive click takes the smallest
    remaining segment under it (the object clicked, not the background around it) and the
    result is their union; with a box, only segments overlapping it count, and with no click
    the one of highest IoU with the box is taken. :class:`SegmentationError` when nothing fits.
    """
    masks = np.asarray(masks, bool)
    if masks.ndim != 3 or not len(masks):
        raise SegmentationError("FastSAM found no segment on this image")
    keep = np.ones(len(masks), bool)
    for x, y, positive in prompt.points:
        if not positive:
            keep &= ~masks[:, int(y), int(x)]
    if prompt.box is not None:
        b = prompt.box
        region = np.zeros(masks.shape[1:], bool)
        region[int(b.y):int(np.ceil(b.y2)), int(b.x):int(np.ceil(b.x2))] = True
        inter = (masks & region).sum(axis=(1, 2))
        union = (masks | region).sum(axis=(1, 2))
        iou = np.where(keep, inter / np.maximum(union, 1), 0.0)
        keep &= inter > 0
        if not any(p for _, _, p in prompt.points):
            if not keep.any():
                raise SegmentationError("FastSAM found no segment in this box")
            return masks[int(np.argmax(iou))]
    areas = masks.sum(axis=(1, 2))
    out = np.zeros(masks.shape[1:], bool)
    for x, y, positive in prompt.points:
        if not positive:
            continue
        under = np.flatnonzero(keep & masks[:, int(y), int(x)])
        if not len(under):
            raise SegmentationError(f"FastSAM found no segment under the click at ({x:g}, {y:g})"
                                    " (or only ones holding a negative click)")
        out |= masks[under[np.argmin(areas[under])]]
    return out


class FastSAMSegmenter:
    """FastSAM (or any ultralytics segmentation weights) as a segmenter (see the module doc).
    ``conf``/``iou``: its detection thresholds for the segment-everything pass."""

    prepares_ahead = True

    def __init__(self, model: str | Path = "FastSAM-s.pt", *, imgsz: int = 1024,
                 conf: float = 0.4, iou: float = 0.9, device: str | None = None,
                 cache: int = 4, name: str | None = None) -> None:
        from nblabel.sources.yolo import prepare_ultralytics

        prepare_ultralytics()
        from ultralytics import FastSAM

        try:
            self.model = FastSAM(model)
        except Exception as exc:  # missing weights offline, a wrong file
            raise SegmentationError(f"cannot load the segmenter {str(model)!r}: {exc}") from exc
        self.kwargs: dict[str, Any] = {"imgsz": imgsz, "conf": conf, "iou": iou,
                                       "retina_masks": True, "verbose": False}
        if device is not None:
            self.kwargs["device"] = device
        self.name = name or str(model)
        self.runs = 0  # segment-everything passes (one per image)
        self._masks: PerImage[np.ndarray] = PerImage(cache)

    def _everything(self, image: Image.Image) -> np.ndarray:
        try:
            (result,) = self.model.predict(bgr(image), **self.kwargs)
        except Exception as exc:
            raise SegmentationError(f"{self.name} failed on this image: {exc}") from exc
        self.runs += 1
        h, w = image.height, image.width
        data = result.masks.data.cpu().numpy() > 0.5 if result.masks is not None else None
        return data if data is not None and data.shape[1:] == (h, w) \
            else np.zeros((0, h, w), bool)

    def prepare(self, image: Image.Image, key: str | None = None) -> None:
        """Segment everything on ``image`` once per ``key`` and keep the masks."""
        key = key if key is not None else str(id(image))
        self._masks.get(key, lambda: self._everything(image))

    def segment(self, image: Image.Image, prompt: Prompt, key: str | None = None
                ) -> np.ndarray:
        prompt = prompt.checked(ImageSize(image.width, image.height))
        key = key if key is not None else str(id(image))
        return pick_mask(self._masks.get(key, lambda: self._everything(image)), prompt)
