"""Errors: the proposals evaluated against the reviewed ground truth.

- :func:`evaluate` runs FiftyOne's ``evaluate_detections`` on the reviewed samples (tag
  ``reviewed``): every proposal and truth box gets ``<eval_key>`` = ``tp`` / ``fp`` / ``fn``,
  every sample ``<eval_key>_tp`` / ``_fp`` / ``_fn`` counts, so the App filters by them and
  ``build_queue(view, "errors", eval_key=...)`` puts the images with the most errors first.
  ``view.to_evaluation_patches(eval_key)`` gives one patch per error, reviewable in the widget
  (``ReviewSession`` accepts patches views).
- :func:`mistakenness` runs fiftyone-brain's ``compute_mistakenness`` (``mistakenness`` per
  sample and truth box, ``possible_missing`` / ``possible_spurious`` counts).
- :func:`proposal_accuracy`: box-level precision / recall / accuracy (TP / (TP + FP + FN)) and
  image-level accuracy (an image is right only when every box on it is: no FP and no FN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nblabel.store.schema import ACCURACY_EVAL_KEY, DEFAULT_EVAL_KEY, REVIEWED_TAG

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["ProposalAccuracy", "evaluate", "mistakenness", "proposal_accuracy"]


def _reviewed(view: fo.core.collections.SampleCollection, only_reviewed: bool
              ) -> fo.core.collections.SampleCollection:
    if not only_reviewed:
        return view
    reviewed = view.match_tags(REVIEWED_TAG)
    if len(reviewed) == 0:
        raise ValueError("no reviewed samples to evaluate against: review some images first "
                         "(or pass only_reviewed=False to use the truth as it is)")
    return reviewed


def evaluate(
    view: fo.core.collections.SampleCollection,
    pred_field: str = "predictions",
    gt_field: str = "ground_truth",
    eval_key: str = DEFAULT_EVAL_KEY,
    *,
    iou: float = 0.5,
    min_confidence: float | None = None,
    classwise: bool = True,
    only_reviewed: bool = True,
) -> Any:
    """Evaluate the proposals against the reviewed truth; returns FiftyOne's results object.

    ``min_confidence``: only proposals at or above it count (the ones the widget shows).
    """
    return _evaluate(_reviewed(view, only_reviewed), pred_field, gt_field, eval_key, iou,
                     min_confidence, classwise)


def _evaluate(target: fo.core.collections.SampleCollection, pred_field: str, gt_field: str,
              eval_key: str, iou: float, min_confidence: float | None, classwise: bool) -> Any:
    from fiftyone import ViewField as F

    if min_confidence is not None:
        target = target.filter_labels(pred_field, F("confidence") >= min_confidence,
                                      only_matches=False)
    return target.evaluate_detections(pred_field, gt_field=gt_field, eval_key=eval_key,
                                      iou=iou, classwise=classwise)


def mistakenness(
    view: fo.core.collections.SampleCollection,
    pred_field: str = "predictions",
    gt_field: str = "ground_truth",
    *,
    only_reviewed: bool = False,
) -> None:
    """fiftyone-brain's mistakenness of ``gt_field`` given the model's ``pred_field``.

    On reviewed truth it points at review mistakes; on imported truth, at labeling mistakes.
    """
    import fiftyone.brain as fob

    fob.compute_mistakenness(_reviewed(view, only_reviewed), pred_field, label_field=gt_field)


@dataclass(frozen=True)
class ProposalAccuracy:
    """How right the proposals were, measured against the reviewed truth."""

    iou: float
    images: int
    images_right: int
    tp: int
    fp: int
    fn: int

    @property
    def image_accuracy(self) -> float:
        return self.images_right / self.images if self.images else float("nan")

    @property
    def box_accuracy(self) -> float:
        n = self.tp + self.fp + self.fn
        return self.tp / n if n else float("nan")

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")


def proposal_accuracy(
    view: fo.core.collections.SampleCollection,
    pred_field: str = "predictions",
    gt_field: str = "ground_truth",
    *,
    iou: float = 0.5,
    min_confidence: float | None = None,
    eval_key: str = ACCURACY_EVAL_KEY,
    only_reviewed: bool = True,
) -> ProposalAccuracy:
    """Box- and image-level accuracy of the proposals at ``iou`` (a box is right when it
    matches a truth box of the same class)."""
    target = _reviewed(view, only_reviewed)
    _evaluate(target, pred_field, gt_field, eval_key, iou, min_confidence, classwise=True)
    tp, fp, fn = target.values([f"{eval_key}_tp", f"{eval_key}_fp", f"{eval_key}_fn"])
    right = sum(1 for a, b in zip(fp, fn, strict=True) if not a and not b)
    return ProposalAccuracy(iou=iou, images=len(tp), images_right=right,
                            tp=int(sum(tp)), fp=int(sum(fp)), fn=int(sum(fn)))
