"""Open-vocabulary detection from text prompts: ultralytics YOLOE and YOLO-World told which
classes to find by name (``set_classes``), for classes no closed-set model was trained on.

Needs the model's weights (``yoloe-11s-seg.pt``, ``yolov8s-worldv2.pt``) and its text encoder
(CLIP or MobileCLIP, which ultralytics fetches on first use); offline without them the source
refuses to start with an error naming what is missing, before any image is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nblabel.sources.yolo import UltralyticsSource, prepare_ultralytics

__all__ = ["OpenVocabError", "OpenVocabSource"]


class OpenVocabError(RuntimeError):
    """An open-vocabulary model could not be prompted (weights or text encoder missing)."""


class OpenVocabSource(UltralyticsSource):
    """Proposals of ``classes`` (names as text prompts) from a YOLOE or YOLO-World ``model``
    (a weights path or name, or a loaded model). Other arguments as
    :class:`~nblabel.sources.UltralyticsSource`; proposals carry the prompt names as labels."""

    def __init__(self, model: Any, classes: Sequence[str], **kwargs: Any) -> None:
        names = [str(c).strip() for c in classes]
        if not names or any(not n for n in names):
            raise ValueError(f"open-vocabulary classes must be non-empty names, got {classes!r}")
        if isinstance(model, str):
            prepare_ultralytics()
            try:
                model = _load_open(model)
            except Exception as exc:
                raise OpenVocabError(f"cannot load open-vocabulary model {model!r}: {exc}"
                                     ) from exc
        label = getattr(model, "ckpt_path", None) or getattr(model, "model_name", None) or "model"
        try:
            if type(model).__name__ == "YOLOE":
                model.set_classes(names, model.get_text_pe(names))
            else:
                model.set_classes(names)
        except Exception as exc:  # ModuleNotFoundError('clip'), a failed download, ...
            raise OpenVocabError(
                f"open-vocabulary model {label!s} could not encode the prompts {names}: its "
                f"text encoder (CLIP / MobileCLIP, fetched by ultralytics on first use) is not "
                f"available here ({type(exc).__name__}: {exc}). Install it while online "
                f"(pip install git+https://github.com/ultralytics/CLIP.git) or use "
                f"visual prompts (nblabel.sources.ExemplarSource)") from exc
        self.classes = names
        kwargs.setdefault("name", f"open-vocab:{'+'.join(names)}")
        super().__init__(model, **kwargs)


def _load_open(weights: str) -> Any:
    from ultralytics import YOLOE, YOLOWorld

    return YOLOE(weights) if "yoloe" in weights.lower() else YOLOWorld(weights)
