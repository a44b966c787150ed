"""Which stored labels are likely wrong: a model's predictions held against the labels people
made, one image at a time (pure; :mod:`nblabel.curation.label_errors` runs it over a dataset).

Each label and each confident prediction with no label becomes a :class:`Suspect` with the
chance ``error`` that the labels are wrong there:

- ``class``: a prediction overlaps the label (IoU >= ``iou``) with another class; the error is
  the chance the model gives its class, less the chance it gives the label's class where it has
  per-class scores (otherwise its confidence, shrunk by ``W_CLASS``);
- ``placed``: the best prediction overlaps the label only partly (IoU in [0.1, ``iou``)): the
  error grows as the overlap shrinks, times the prediction's confidence;
- ``spurious``: no prediction overlaps the label at all; the model may have missed the object,
  so the error is ``W_SPURIOUS`` times the model's mean confidence on the image's other labels
  (a model sure of the rest is more telling);
- ``missing``: a prediction at ``threshold`` or above overlaps no label (IoU < 0.1 with all):
  an object nobody boxed; the error is its confidence;
- ``""``: a label a prediction confirms; the error is what its confidence leaves open, times
  ``W_CONFIRMED``.

The image's error is the noisy-or of its suspects' (the chance at least one is real). Matching
is one-to-one, best IoU first, the same class preferred (:func:`nblabel.core.geometry.
greedy_match`). The weights were set on generated shapes with injected errors
(``bench/ranking.py``, label-error section) and checked on real tiles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from nblabel.core.geometry import XYWH, greedy_match, iou_matrix

__all__ = ["Suspect", "check_image", "image_error"]

W_CLASS = 0.9
W_SPURIOUS = 0.6
W_CONFIRMED = 0.1
MIN_OVERLAP = 0.1


@dataclass(frozen=True)
class Suspect:
    """One place where the labels may be wrong: ``label_index`` into the labels (None for a
    missing one), the ``label`` and ``box`` the check proposes, its ``kind`` and ``error``."""

    label_index: int | None
    label: str
    box: tuple[float, ...]
    kind: str
    error: float


def check_image(labels: Sequence[tuple[str, XYWH]],
                predictions: Sequence[tuple[str, XYWH, float]], *,
                scores: Sequence[Mapping[str, float] | None] | None = None, iou: float = 0.5,
                threshold: float = 0.25) -> list[Suspect]:
    """One :class:`Suspect` per label, in order, then one per missing object (see the module
    doc). ``scores``: per prediction, its per-class probabilities where the model gives them."""
    boxes = [tuple(map(float, b)) for _, b in labels]
    pboxes = [tuple(map(float, b)) for _, b, _ in predictions]
    order = sorted(range(len(predictions)), key=lambda j: -predictions[j][2])
    matches = greedy_match(boxes, [pboxes[j] for j in order], min_iou=MIN_OVERLAP,
                           prefer=lambda i, j: labels[i][0] == predictions[order[j]][0])
    used: set[int] = set()
    out: list[Suspect] = []
    matched_confs = [predictions[order[m]][2] for m, _ in matches if m is not None]
    sureness = sum(matched_confs) / len(matched_confs) if matched_confs else 0.5
    for i, ((label, _), (m, v)) in enumerate(zip(labels, matches, strict=True)):
        box = boxes[i]
        if m is None:
            out.append(Suspect(i, label, box, "spurious", W_SPURIOUS * sureness))
            continue
        j = order[m]
        used.add(j)
        plabel, _, conf = predictions[j]
        if v >= iou and plabel != label:
            probs = (scores or [None] * len(predictions))[j]
            err = (probs.get(plabel, conf) - probs.get(label, 0.0) if probs
                   else W_CLASS * conf)
            out.append(Suspect(i, label, box, "class", max(0.0, min(1.0, err))))
        elif v < iou:
            out.append(Suspect(i, label, box, "placed", conf * min(1.0, (iou - v) / (iou - 0.1))))
        else:
            out.append(Suspect(i, label, box, "", W_CONFIRMED * (1.0 - conf)))
    overlaps = (iou_matrix(np.asarray(pboxes), np.asarray(boxes)).max(axis=1).tolist()
                if boxes and pboxes else [0.0] * len(pboxes))
    for j in order:
        plabel, _, conf = predictions[j]
        if j not in used and conf >= threshold and overlaps[j] < MIN_OVERLAP:
            out.append(Suspect(None, plabel, pboxes[j], "missing", conf))
    return out


def image_error(suspects: Sequence[Suspect]) -> float:
    """The chance the image's labels hold at least one error (noisy-or of the suspects')."""
    keep = 1.0
    for s in suspects:
        keep *= 1.0 - min(1.0, max(0.0, s.error))
    return 1.0 - keep
