"""The SAM family through ultralytics: SAM, SAM 2 and MobileSAM (weights a user has, such as
``mobile_sam.pt``, ``sam2.1_b.pt``, ``sam_b.pt``; nothing downloads in tests).

The heavy image encoder runs once per image (:meth:`SAMSegmenter.prepare`, which the widget
and bulk runs call ahead for the next images) and its features are kept for the last ``cache``
images; each click then runs only the prompt decoder. FastSAM (segment everything, then pick)
is :class:`nblabel.segmentation.fastsam.FastSAMSegmenter`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from nblabel.core.labels import ImageSize
from nblabel.segmentation.base import PerImage, Prompt, SegmentationError, bgr, points_array

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["SAMSegmenter"]


class SAMSegmenter:
    """A SAM-family model as a segmenter. ``model``: a weights path or name, or a model built
    by ``ultralytics.models.sam.build`` (e.g. ``build_mobile_sam()``, random weights, for
    timing); ``sam2=True`` (or a name containing "sam2") uses SAM 2's predictor; ``threads``:
    torch's CPU threads (default: every core this process may use; the setting is
    process-wide)."""

    prepares_ahead = True

    def __init__(self, model: Any = "mobile_sam.pt", *, imgsz: int = 1024,
                 device: str | None = None, cache: int = 4, sam2: bool | None = None,
                 name: str | None = None, threads: int | None = None) -> None:
        from nblabel.sources.yolo import prepare_ultralytics

        prepare_ultralytics()
        from ultralytics.models.sam import Predictor, SAM2Predictor

        label = model if isinstance(model, str) else type(model).__name__
        is_sam2 = sam2 if sam2 is not None else "sam2" in str(label).lower()
        overrides: dict[str, Any] = {"task": "segment", "mode": "predict", "imgsz": imgsz,
                                     "conf": 0.0, "verbose": False, "save": False}
        if device is not None:
            overrides["device"] = device
        if isinstance(model, str):
            overrides["model"] = model
        self.predictor = (SAM2Predictor if is_sam2 else Predictor)(overrides=overrides)
        try:
            self.predictor.setup_model(model=None if isinstance(model, str) else model,
                                       verbose=False)
        except Exception as exc:  # missing weights offline, a wrong file
            raise SegmentationError(f"cannot load the segmenter {label!r}: {exc}") from exc
        # The mask for the prompt is wanted whatever SAM's own quality score (set after the
        # settings' validation, which keeps conf in [0, 1]).
        self.predictor.args.conf = -1e9
        if threads is None and str(self.predictor.device) == "cpu":
            threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        if threads:
            # ultralytics leaves one core free on CPU (a training default); a click waiting on
            # the decoder wants them all: MobileSAM's decoder 105 -> 58 ms on 2 cores.
            import torch

            torch.set_num_threads(threads)
        self.name = name or str(label)
        self._features: PerImage[Any] = PerImage(cache)

    def _encode(self, image: Image.Image) -> Any:
        self.predictor.set_image(bgr(image))
        return self.predictor.features

    def prepare(self, image: Image.Image, key: str | None = None) -> None:
        """Encode ``image`` (once per ``key``) and keep its features."""
        key = key if key is not None else str(id(image))
        self._features.get(key, lambda: self._encode(image))

    def segment(self, image: Image.Image, prompt: Prompt, key: str | None = None
                ) -> np.ndarray:
        size = ImageSize(image.width, image.height)
        prompt = prompt.checked(size)
        key = key if key is not None else str(id(image))
        features = self._features.get(key, lambda: self._encode(image))
        return self._decode(features, size, prompt)

    def _decode(self, features: Any, size: ImageSize, prompt: Prompt) -> np.ndarray:
        # The prompt decoder alone on the cached features: no image preprocessing per click,
        # and no predictor state touched (an encoding ahead may run meanwhile).
        import torch

        kwargs: dict[str, Any] = {}
        if prompt.box is not None:
            b = prompt.box
            kwargs["bboxes"] = [[b.x, b.y, b.x2, b.y2]]
        if prompt.points:
            xy, labels = points_array(prompt.points)
            kwargs["points"] = [xy.tolist()]  # one object, N points
            kwargs["labels"] = [labels.tolist()]
        with torch.inference_mode():
            masks, _ = self.predictor.inference_features(
                features, (size.height, size.width), **kwargs)
        if masks is None or len(masks) == 0:
            raise SegmentationError(f"{self.name} returned no mask for this prompt")
        return np.asarray(masks[0].cpu().numpy(), bool)
