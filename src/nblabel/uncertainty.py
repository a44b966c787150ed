"""Uncertainty of proposals and difficulty of images, from the scores a model gives.

Per proposal (higher = more uncertain, each in [0, 1]):

- ``least_confidence`` = 1 - max score;
- ``margin`` = 1 - (best - second best);
- ``entropy`` = entropy of the scores normalised by log(number of classes).

With per-class ``scores`` these use the whole distribution; with only a confidence ``c`` they use
the two-way distribution (c, 1 - c).

Per image, ``difficulty`` (in [0, 1]) combines the most uncertain proposal, the mean uncertainty
and the risk of missed objects (the share of weak proposals, confidence in ``weak_band``, which
is where a detector's misses hide). This first version weighs them 0.5 / 0.3 / 0.2; the ranking
benchmark of issue 4 is where the weights get tuned against mistakenness.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = [
    "DIFFICULTY_FIELD",
    "compute_uncertainty",
    "entropy",
    "image_difficulty",
    "least_confidence",
    "margin",
    "proposal_uncertainty",
]

DIFFICULTY_FIELD = "nblabel_difficulty"


def _distribution(scores: Sequence[float]) -> list[float]:
    values = [max(0.0, float(s)) for s in scores if math.isfinite(float(s))]
    if not values:
        return [0.5, 0.5]
    if len(values) == 1:
        c = min(values[0], 1.0)
        return [c, 1.0 - c]
    total = sum(values)
    return [v / total for v in values] if total > 0 else [1.0 / len(values)] * len(values)


def least_confidence(scores: Sequence[float]) -> float:
    return 1.0 - max(_distribution(scores))


def margin(scores: Sequence[float]) -> float:
    p = sorted(_distribution(scores), reverse=True)
    return 1.0 - (p[0] - p[1])


def entropy(scores: Sequence[float]) -> float:
    p = _distribution(scores)
    h = -sum(x * math.log(x) for x in p if x > 0)
    return h / math.log(len(p)) if len(p) > 1 else 0.0


def proposal_uncertainty(
    confidence: float | None, scores: Mapping[str, float] | None = None
) -> dict[str, float]:
    """The three measures for one proposal (see the module docstring)."""
    dist: Sequence[float]
    if scores:
        dist = list(scores.values())
    elif confidence is not None:
        dist = [confidence]
    else:
        dist = [0.5]
    return {"least_confidence": least_confidence(dist), "margin": margin(dist),
            "entropy": entropy(dist)}


def image_difficulty(
    confidences: Sequence[float], weak_band: tuple[float, float] = (0.1, 0.5)
) -> float:
    """Difficulty of an image from its proposals' confidences (0 when it has none)."""
    confs = [float(c) for c in confidences if c is not None and math.isfinite(float(c))]
    if not confs:
        return 0.0
    u = [least_confidence([c]) for c in confs]
    weak = sum(1 for c in confs if weak_band[0] <= c < weak_band[1]) / len(confs)
    return 0.5 * max(u) + 0.3 * (sum(u) / len(u)) + 0.2 * weak


def compute_uncertainty(
    view: fo.core.collections.SampleCollection, field: str = "predictions"
) -> int:
    """Store the measures on every proposal of ``view`` and ``nblabel_difficulty`` per sample.

    Bulk, id-keyed writes. Returns the number of proposals scored.
    """
    import fiftyone as fo

    ids, label_ids, confs = view.values(
        ["id", f"{field}.detections.id", f"{field}.detections.confidence"]
    )
    scores_per_sample: list[Any] = [None] * len(ids)
    dataset = view._dataset
    if f"{field}.detections.scores" in dataset.get_field_schema(flat=True):
        scores_per_sample = view.values(f"{field}.detections.scores")
    updates: dict[str, list[dict[str, Any]]] = {"least_confidence": [], "margin": [],
                                                "entropy": []}
    difficulty: dict[str, float] = {}
    for i, sid in enumerate(ids):
        lids = label_ids[i] or []
        cs = confs[i] or []
        ss = scores_per_sample[i] or [None] * len(lids)
        for lid, c, s in zip(lids, cs, ss, strict=False):
            for name, value in proposal_uncertainty(c, s if isinstance(s, dict) else None).items():
                updates[name].append({"sample_id": sid, "label_id": lid, "value": value})
        difficulty[sid] = image_difficulty(cs)
    for name, values in updates.items():
        path = f"{field}.detections.{name}"
        if path not in dataset.get_field_schema(flat=True):
            dataset.add_sample_field(path, fo.FloatField)
        if values:
            view.set_label_values(path, values, validate=False)
    if not dataset.has_sample_field(DIFFICULTY_FIELD):
        dataset.add_sample_field(DIFFICULTY_FIELD, fo.FloatField)
    if difficulty:
        view.set_values(DIFFICULTY_FIELD, difficulty, key_field="id", validate=False)
    return len(updates["entropy"])
