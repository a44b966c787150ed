"""Errors in the labels people made: rank stored ground truth by likely error and review it in
the widget as proposals to confirm or fix.

:func:`find_label_errors` holds a model's predictions against the labels, image by image
(:func:`nblabel.core.label_check.check_image`: wrong class, badly placed, spurious, missing) and
writes, per sample:

- ``nblabel_label_error``: the chance the image's labels hold an error (rank by it);
- ``nblabel_label_check``: the labels as proposals, each with ``confidence`` = the chance it
  belongs in the final labels (1 - its error), ``suspect`` (why it may be wrong), ``error`` and
  ``given_label``; plus the objects the model found and nobody labeled (``suspect="missing"``,
  confidence = its chance of being real).

Review them most suspect first, every proposal visible, decisions written to a new field so the
original labels stay as they were::

    errors = find_label_errors(dataset, "ground_truth", "predictions")
    nblabel.review(errors.view, field="nblabel_label_check",
                   gt_field="ground_truth_checked", threshold=0.0)

Accept keeps a label, edit fixes it, reject drops it. A stored label that is not a valid box
(missing, not finite) is named in ``problems`` and counts as an error; the rest goes on.
Predictions should come from a model that did not train on these labels (held out, or
cross-validated), as for cleanlab, which ``bench/ranking.py`` compares against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nblabel.core.label_check import Suspect, check_image, image_error
from nblabel.store import schema, shim
from nblabel.store.schema import LABEL_CHECK_ATTRS, LABEL_CHECK_FIELD, LABEL_ERROR_FIELD

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["LabelErrors", "find_label_errors"]


@dataclass
class LabelErrors:
    """Per sample: its error score and suspects; stored labels that could not be read (sample
    id: what); ``view``: the samples most suspect first."""

    scores: dict[str, float]
    suspects: dict[str, list[Suspect]]
    problems: dict[str, str] = field(default_factory=dict)
    view: Any = None


def _box(value: Any) -> tuple[float, ...] | None:
    try:
        box = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0:
        return None
    return box


def find_label_errors(view: fo.core.collections.SampleCollection,
                      gt_field: str = "ground_truth", pred_field: str = "predictions", *,
                      iou: float = 0.5, threshold: float = 0.25, write: bool = True
                      ) -> LabelErrors:
    """Score every image of ``view`` and write the check fields (see the module doc)."""
    import fiftyone as fo

    dataset = shim.base_dataset(view)
    for f in (gt_field, pred_field):
        if not dataset.has_sample_field(f):
            raise ValueError(f"dataset {dataset.name!r} has no field {f!r}")
    g, p = f"{gt_field}.detections", f"{pred_field}.detections"
    has_scores = f"{p}.scores" in dataset.get_field_schema(flat=True)
    ids, glabels, gboxes, plabels, pboxes, pconfs = view.values(
        ["id", f"{g}.label", f"{g}.bounding_box", f"{p}.label", f"{p}.bounding_box",
         f"{p}.confidence"])
    pscores = view.values(f"{p}.scores") if has_scores else [None] * len(ids)
    out = LabelErrors({}, {})
    checks: dict[str, fo.Detections] = {}
    for k, sid in enumerate(ids):
        labels, bad = [], 0
        for n, (label, b) in enumerate(zip(glabels[k] or [], gboxes[k] or [], strict=True)):
            box = _box(b)
            if box is None or not label:
                out.problems[sid] = (f"sample {sid}: {gt_field} label {n} ({label!r}) has "
                                     f"bounding_box {b!r}, not 4 finite numbers with a size")
                bad += 1
            else:
                labels.append((str(label), box))
        preds = [(str(lb), bx, float(c or 0.0)) for lb, b, c in
                 zip(plabels[k] or [], pboxes[k] or [], pconfs[k] or [], strict=True)
                 if lb and (bx := _box(b)) is not None]
        scores = [s if isinstance(s, Mapping) else None for s in (pscores[k] or [])]
        sus = check_image(labels, preds, iou=iou, threshold=threshold,
                          scores=scores if len(scores) == len(preds) else None)
        out.suspects[sid] = sus
        out.scores[sid] = 1.0 if bad else image_error(sus)
        checks[sid] = fo.Detections(detections=[
            fo.Detection(label=s.label, bounding_box=list(s.box),
                         confidence=(s.error if s.label_index is None else 1.0 - s.error),
                         suspect=s.kind, error=s.error,
                         given_label=(labels[s.label_index][0] if s.label_index is not None
                                      else "")) for s in sus])
    if write and ids:
        fields = {LABEL_ERROR_FIELD: "float", LABEL_CHECK_FIELD: "detections"}
        fields.update({f"{LABEL_CHECK_FIELD}.detections.{a}": kind
                       for a, kind in LABEL_CHECK_ATTRS.items()})
        schema.declare(dataset, fields)
        target = dataset.select(ids)
        target.set_values(LABEL_ERROR_FIELD, out.scores, key_field="id")
        target.set_values(LABEL_CHECK_FIELD, checks, key_field="id")
        out.view = dataset.select(ids).sort_by(LABEL_ERROR_FIELD, reverse=True)
    return out
