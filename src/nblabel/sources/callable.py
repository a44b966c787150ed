"""Any Python function as a proposal source."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nblabel.core.labels import Box, ImageSize, InvalidLabelError, Proposal

if TYPE_CHECKING:
    from PIL import Image


from nblabel.sources.base import LabelMap, ProposalError, _Source

__all__ = ["CallableSource"]

log = logging.getLogger(__name__)


class CallableSource(_Source):
    """Proposals from any Python function ``fn(image) -> predictions``.

    Detection and segmentation: an iterable of mappings with ``label`` (a name or class index),
    a box as ``box`` ([x, y, w, h] in pixels) or ``xyxy`` ([x1, y1, x2, y2]), and ``confidence``
    (or ``score``); optional ``scores`` ({label: score}) and ``mask`` (a 2-D array covering the
    box). Classification (``task="classify"``): a mapping {label: probability}. Invalid
    predictions (NaN, outside the image, negative sizes) are dropped and counted; an exception
    from ``fn`` becomes that image's error. ``module``, a torch module ``fn`` runs, lets
    MC dropout switch its dropout layers on (see :mod:`nblabel.curation.uncertainty`).
    """

    def __init__(self, fn: Any, name: str | None = None, *, task: str = "detect",
                 label_map: Mapping[str | int, str | None] | LabelMap | None = None,
                 module: Any = None) -> None:
        self.fn = fn
        self.name = str(name or getattr(fn, "__name__", "callable"))
        self.module = module
        super().__init__(task, label_map)

    def torch_module(self) -> Any:
        return self.module

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal] | ProposalError]:
        out: list[list[Proposal] | ProposalError] = []
        for img in images:
            size = ImageSize(img.width, img.height)
            try:
                raw = self.fn(img)
                if self.task == "classify":
                    if not isinstance(raw, Mapping):
                        raise TypeError(f"a classifier must return {{label: score}}, "
                                        f"not {type(raw).__name__}")
                    out.append(self._classification(
                        {str(k): float(v) for k, v in raw.items()}, size))
                    continue
                predictions = list(raw)
            except Exception as exc:
                out.append(ProposalError(f"{self.name} failed: {exc!r}"))
                continue
            proposals = []
            for p in predictions:
                try:
                    prop = self._one(p, size)
                except (InvalidLabelError, KeyError, TypeError, ValueError) as exc:
                    self.dropped += 1
                    log.debug("dropped a prediction from %s: %s", self.name, exc)
                    continue
                if prop is not None:
                    proposals.append(prop)
            out.append(proposals)
        return out

    def _one(self, p: Mapping[str, Any], size: ImageSize) -> Proposal | None:
        box = Box.from_xyxy(*p["xyxy"]) if "xyxy" in p else Box(*p["box"])
        conf = p.get("confidence", p.get("score"))
        label = p["label"]
        index = label if isinstance(label, int) else None
        mask = None
        if p.get("mask") is not None:
            from nblabel.core.images import encode_mask

            mask = encode_mask(p["mask"])
        return self._proposal(label, box, conf, size, index=index, scores=p.get("scores"),
                              mask=mask)
