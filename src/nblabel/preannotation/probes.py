"""Uncertainty that needs the model again: test-time augmentation and MC dropout.

Both run a source on the same images more than once and compare with its plain proposals:

- :func:`tta_instability`: the source sees each image flipped left-right and rescaled; a box's
  instability is ``1 -`` its mean best IoU with a same-label box of each augmented view (mapped
  back), so 0 is a box every view agrees on and 1 one that no view finds. For classifiers it is
  the total-variation distance between the class scores of the plain and augmented views.
- :func:`mc_dropout_variance`: with the model's dropout layers switched on, ``passes`` forward
  passes; a proposal's value is the variance of its confidence over the passes (0 when a pass
  does not find it counts as confidence 0). Only where the source exposes its torch module
  (``torch_module()``) and that module has dropout with ``p > 0``; otherwise ``None``.

Each returns one list of floats per image (``None`` for an image whose extra passes failed),
aligned with the proposals given. :func:`nblabel.preannotation.preannotate` stores them on the
proposals as ``tta_instability`` and ``mc_variance``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nblabel.core.labels import Box, Proposal

if TYPE_CHECKING:
    from PIL import Image

    from nblabel.sources import ProposalSource

__all__ = ["dropout_enabled", "mc_dropout_variance", "tta_instability"]

PerImage = list[list[float] | None]


def _flip_box(box: Box, width: int) -> Box:
    return Box(width - box.x2, box.y, box.w, box.h)


def _scale_box(box: Box, factor: float) -> Box:
    return Box(box.x / factor, box.y / factor, box.w / factor, box.h / factor)


def _best_iou(p: Proposal, others: Sequence[Proposal]) -> tuple[float, Proposal | None]:
    best, match = 0.0, None
    for o in others:
        if o.label == p.label:
            iou = p.box.iou(o.box)
            if iou > best:
                best, match = iou, o
    return best, match


def _tv_distance(a: Proposal, b: Sequence[Proposal]) -> float:
    pa = dict(a.scores or {a.label: a.confidence or 0.0})
    pb = dict(b[0].scores or {b[0].label: b[0].confidence or 0.0}) if b else {}
    keys = set(pa) | set(pb)
    return min(1.0, 0.5 * sum(abs(pa.get(k, 0.0) - pb.get(k, 0.0)) for k in keys))


def tta_instability(
    source: ProposalSource,
    images: Sequence[Image.Image],
    proposals: Sequence[Sequence[Proposal] | None],
    *,
    flip: bool = True,
    scales: Sequence[float] = (0.75,),
) -> PerImage:
    """Per proposal, how much it moves or vanishes under flip and rescale (module docstring)."""
    from PIL import Image as PILImage

    views: list[tuple[list[Image.Image], Any]] = []
    if flip:
        views.append(([im.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT) for im in images],
                      _flip_box))
    for s in scales:
        resized = [im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))),
                             PILImage.Resampling.BILINEAR) for im in images]
        views.append((resized, lambda b, _w, _s=s: _scale_box(b, _s)))
    outputs = [(list(source.propose(v)), back) for v, back in views]
    classify = getattr(source, "task", "detect") == "classify"
    result: PerImage = []
    for i, (img, props) in enumerate(zip(images, proposals, strict=True)):
        got: list[list[Proposal]] = [g for g in (out[i] for out, _ in outputs)
                                     if isinstance(g, list)]
        if props is None or len(got) < len(outputs):
            result.append(None)  # no proposals, or an augmented pass failed on this image
            continue
        if classify:
            result.append([sum(_tv_distance(p, g) for g in got) / len(got) for p in props])
            continue
        # Boxes of each view mapped back to the image's own coordinates.
        back = [[replace(o, box=to_image(o.box, img.width)) for o in g]
                for g, (_, to_image) in zip(got, outputs, strict=True)]
        result.append([1.0 - sum(_best_iou(p, v)[0] for v in back) / len(back)
                       for p in props])
    return result


@contextmanager
def dropout_enabled(module: Any) -> Iterator[int]:
    """Switch a torch module's dropout layers (``p > 0``) to training mode; yield how many."""
    import torch

    layers = [m for m in module.modules()
              if isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > 0]
    was = [m.training for m in layers]
    for m in layers:
        m.train()
    try:
        yield len(layers)
    finally:
        for m, t in zip(layers, was, strict=True):
            m.train(t)


def mc_dropout_variance(
    source: ProposalSource,
    images: Sequence[Image.Image],
    proposals: Sequence[Sequence[Proposal] | None],
    *,
    passes: int = 8,
    seed: int = 0,
) -> PerImage | None:
    """Per proposal, the variance of its confidence over ``passes`` dropout passes, or ``None``
    when the source's model has no dropout to switch on."""
    get_module = getattr(source, "torch_module", None)
    module = get_module() if get_module is not None else None
    if module is None or passes < 2:
        return None
    import torch

    classify = getattr(source, "task", "detect") == "classify"
    runs: list[list[Any]] = []
    with dropout_enabled(module) as n:
        if n == 0:
            return None
        state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        try:
            for _ in range(passes):
                runs.append(list(source.propose(images)))
        finally:
            torch.random.set_rng_state(state)
    result: PerImage = []
    for i, props in enumerate(proposals):
        if props is None or any(not isinstance(r[i], list) for r in runs):
            result.append(None)
            continue
        values = []
        for p in props:
            confs = []
            for r in runs:
                if classify:
                    top = r[i][0] if r[i] else None
                    scores = (top.scores or {}) if top is not None else {}
                    confs.append(float(scores.get(p.label, 0.0)))
                else:
                    iou, match = _best_iou(p, r[i])
                    confs.append(float(match.confidence or 0.0) if match and iou >= 0.5 else 0.0)
            mean = sum(confs) / len(confs)
            values.append(sum((c - mean) ** 2 for c in confs) / len(confs))
        result.append(values)
    return result
