"""Uncertainty of proposals and difficulty of images, from the scores a model gives.

Per proposal (higher = more uncertain, each in [0, 1]):

- ``least_confidence`` = 1 - max score;
- ``margin`` = 1 - (best - second best);
- ``entropy`` = entropy of the scores normalised by log(number of classes).

With per-class ``scores`` these use the whole distribution; with only a confidence ``c`` they use
the two-way distribution (c, 1 - c).

Per image, ``nblabel_difficulty`` (in [0, 1]) estimates the chance that the image holds at least
one error a reviewer must fix, as a noisy-or over its evidence (:func:`image_difficulty`):

- each proposal shown at the review ``threshold`` may be wrong: ``1 - confidence``, raised when
  it moves under test-time augmentation (``tta_instability``), varies under MC dropout
  (``mc_variance``) or other models do not see it (``agreement``);
- each proposal hidden below the threshold may be a missed object, more likely the closer it is
  to the threshold;
- each box another model (``others=`` fields, or ensemble members) shows that this field does
  not is a likely missed object.

Weights were tuned with ``bench/ranking.py`` (errors found in the first 20 % of the queue and
AUROC against random, confidence-only and FiftyOne Brain's mistakenness orderings).
Per image, ``nblabel_disagreement`` is the share of shown boxes, of this field and of the other
models, that not all models agree on (0 when only one model is known).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nblabel.core.geometry import greedy_match
from nblabel.core.rules import DEFAULT_THRESHOLD, visible
from nblabel.store import schema, shim
from nblabel.store.schema import DIFFICULTY_FIELD, DISAGREEMENT_FIELD

if TYPE_CHECKING:
    import fiftyone as fo

log = logging.getLogger(__name__)

__all__ = [
    "DIFFICULTY_FIELD",
    "DISAGREEMENT_FIELD",
    "compute_uncertainty",
    "ensure_difficulty",
    "entropy",
    "image_difficulty",
    "least_confidence",
    "margin",
    "proposal_uncertainty",
]


# Weights of the difficulty's evidence (tuned with bench/ranking.py).
W_SHOWN = 1.0  # 1 - confidence of a shown proposal
W_HIDDEN = 1.0  # (confidence / threshold)^2 of a hidden proposal: a likely missed object
W_TTA = 0.3  # tta_instability of a shown proposal
W_MC = 2.0  # standard deviation of the confidence under MC dropout
W_DISAGREE = 0.15  # 1 - agreement of a shown proposal
W_UNSEEN = 0.3  # confidence of another model's shown box that this field lacks


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
    confidences: Sequence[float | None],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    instability: Sequence[float | None] | None = None,
    variance: Sequence[float | None] | None = None,
    agreement: Sequence[float | None] | None = None,
    unseen: Sequence[float] = (),
) -> float:
    """Chance-like difficulty of an image (module docstring); 0 for an image with no evidence.

    Sequences other than ``unseen`` (confidences of other models' boxes this field lacks) are
    aligned with ``confidences``; ``None`` marks a value not measured.
    """
    n = len(confidences)
    inst = instability or [None] * n
    var = variance or [None] * n
    agr = agreement or [None] * n
    keep = 1.0  # the chance that nothing is wrong
    for c, s, v, a in zip(confidences, inst, var, agr, strict=False):
        if c is None or not math.isfinite(float(c)):
            continue
        c = min(max(float(c), 0.0), 1.0)
        if c < threshold:
            keep *= 1.0 - W_HIDDEN * (c / threshold) ** 2
            continue
        e = [W_SHOWN * (1.0 - c)]
        if s is not None and math.isfinite(s):
            e.append(W_TTA * min(max(s, 0.0), 1.0))
        if v is not None and math.isfinite(v):
            e.append(min(1.0, W_MC * math.sqrt(max(v, 0.0))))
        if a is not None and math.isfinite(a):
            e.append(W_DISAGREE * (1.0 - min(max(a, 0.0), 1.0)))
        for x in e:
            keep *= 1.0 - min(x, 1.0)
    for c in unseen:
        if math.isfinite(c):
            keep *= 1.0 - W_UNSEEN * min(max(c, 0.0), 1.0)
    return 1.0 - keep


def _match(
    boxes: Sequence[tuple[str, list[float]]], other: Sequence[tuple[str, list[float]]],
    iou: float = 0.5,
) -> list[int | None]:
    """For each box, the index of the same-label box of ``other`` it overlaps most (IoU >=
    ``iou``), each ``other`` box used once (greedy, in the given order). Relative boxes: IoU
    does not depend on the unit."""
    pairs = greedy_match([b for _, b in boxes], [b for _, b in other], min_iou=iou,
                         allowed=lambda i, j: boxes[i][0] == other[j][0])
    return [j for j, _ in pairs]


def _optional(view: fo.core.collections.SampleCollection, path: str, n: int) -> list[Any]:
    """Values of an attribute that may be missing (declared or not): ``None`` where absent."""
    try:
        return list(view.values(path))
    except (ValueError, KeyError):
        return [None] * n


def compute_uncertainty(
    view: fo.core.collections.SampleCollection,
    field: str = "predictions",
    *,
    others: Sequence[str] = (),
    threshold: float = DEFAULT_THRESHOLD,
) -> int:
    """Store the measures on every proposal of ``view`` and ``nblabel_difficulty`` per sample.

    ``field`` holds ``Detections`` or a ``Classification``. ``others``: fields with other
    models' detections of the same images; each proposal of ``field`` gets ``agreement`` (the
    share of models, itself included, with a same-label box at IoU >= 0.5 shown at
    ``threshold``) and each sample ``nblabel_disagreement``. Bulk, id-keyed writes. Returns the
    number of proposals scored.
    """
    import fiftyone as fo

    dataset = shim.base_dataset(view)
    if isinstance(dataset.get_field(field), fo.EmbeddedDocumentField) and issubclass(
        dataset.get_field(field).document_type, fo.Classification
    ):
        return _classification_uncertainty(view, field)
    base = f"{field}.detections"
    flat = dataset.get_field_schema(flat=True)
    extras = [a for a in ("scores", "tta_instability", "mc_variance", "agreement")
              if f"{base}.{a}" in flat]
    if not others and not extras and not shim.filters_labels(view):
        return _in_database(view, field, threshold)
    ids, label_ids, labels, boxes, confs = view.values(
        ["id", f"{base}.id", f"{base}.label", f"{base}.bounding_box", f"{base}.confidence"]
    )
    confs = numbers(confs, ids, f"{base}.confidence")
    n = len(ids)
    scores_per_sample = _optional(view, f"{base}.scores", n)
    inst_per_sample = _optional(view, f"{base}.tta_instability", n)
    var_per_sample = _optional(view, f"{base}.mc_variance", n)
    own_agreement = _optional(view, f"{base}.agreement", n)
    other_values = [view.values([f"{o}.detections.label", f"{o}.detections.bounding_box",
                                 f"{o}.detections.confidence"]) for o in others]
    updates: dict[str, list[dict[str, Any]]] = {"least_confidence": [], "margin": [],
                                                "entropy": []}
    if others:
        updates["agreement"] = []
    difficulty: dict[str, float] = {}
    disagreement: dict[str, float] = {}
    for i, sid in enumerate(ids):
        lids = label_ids[i] or []
        cs = confs[i] or []
        ss = scores_per_sample[i] or [None] * len(lids)
        for lid, c, s in zip(lids, cs, ss, strict=False):
            for name, value in proposal_uncertainty(c, s if isinstance(s, dict) else None).items():
                updates[name].append({"sample_id": sid, "label_id": lid, "value": value})
        agreement = own_agreement[i]
        unseen: list[float] = []
        if others:
            shown = [(lab, b) for lab, b, c in zip(labels[i] or [], boxes[i] or [], cs,
                                                   strict=False) if visible(c, threshold)]
            shown_idx = [k for k, c in enumerate(cs) if visible(c, threshold)]
            votes = [1] * len(shown)
            n_other_shown = 0
            other_unmatched = 0
            for o_labels, o_boxes, o_confs in other_values:
                o_shown = [(lab, b, c) for lab, b, c in zip(o_labels[i] or [], o_boxes[i] or [],
                                                            o_confs[i] or [], strict=False)
                           if visible(c, threshold)]
                n_other_shown += len(o_shown)
                matches = _match(shown, [(lab, b) for lab, b, _ in o_shown])
                for k, j in enumerate(matches):
                    votes[k] += j is not None
                hit = {j for j in matches if j is not None}
                for j, (_, _, c) in enumerate(o_shown):
                    if j not in hit:
                        unseen.append(float(c or 0.0))
                        other_unmatched += 1
            models = len(others) + 1
            agreement = [None] * len(cs)
            for k, v in zip(shown_idx, votes, strict=True):
                agreement[k] = v / models
            for lid, a in zip(lids, agreement, strict=False):
                if a is not None:
                    updates["agreement"].append({"sample_id": sid, "label_id": lid, "value": a})
            torn = sum(1 for v in votes if v < models) + other_unmatched
            total = len(shown) + n_other_shown - sum(v - 1 for v in votes)
            disagreement[sid] = torn / total if total else 0.0
        elif agreement is not None:
            shown_a = [a for a, c in zip(agreement, cs, strict=False)
                       if a is not None and visible(c, threshold)]
            disagreement[sid] = (sum(1 for a in shown_a if a < 1.0) / len(shown_a)
                                 if shown_a else 0.0)
        difficulty[sid] = image_difficulty(cs, threshold=threshold, instability=inst_per_sample[i],
                                           variance=var_per_sample[i], agreement=agreement,
                                           unseen=unseen)
    schema.declare(dataset, {f"{base}.{name}": "float" for name in updates})
    for name, values in updates.items():
        path = f"{base}.{name}"
        if values:
            view.set_label_values(path, values, validate=False)
    _store(view, DIFFICULTY_FIELD, difficulty)
    if disagreement:
        _store(view, DISAGREEMENT_FIELD, disagreement)
    return len(updates["entropy"])


def ensure_difficulty(view: fo.core.collections.SampleCollection, field: str = "predictions", *,
                      others: Sequence[str] = ()) -> list[float | None]:
    """``nblabel_difficulty`` of ``view``'s samples in its order, computed first when a sample
    lacks it or ``others`` are given (their disagreement changes it)."""
    dataset = shim.base_dataset(view)
    if others or not dataset.has_sample_field(DIFFICULTY_FIELD) or view.exists(
            DIFFICULTY_FIELD, False).count():
        compute_uncertainty(view, field, others=others)
    return list(view.values(DIFFICULTY_FIELD))


def numbers(values: list[Any], sample_ids: Sequence[str], path: str) -> list[Any]:
    """Per-sample lists of stored numbers with anything that is not a finite number (written
    by another tool: ``"high"``, NaN) replaced by ``None``; logged once, naming the samples."""
    bad: list[tuple[str, Any]] = []

    def ok(x: Any, sid: str) -> Any:
        if x is None or (isinstance(x, int | float) and not isinstance(x, bool)
                         and math.isfinite(x)):
            return x
        bad.append((sid, x))
        return None

    out = [[ok(x, sid) for x in v] if isinstance(v, list) else ok(v, sid)
           for v, sid in zip(values, sample_ids, strict=True)]
    if bad:
        shown = ", ".join(f"sample {sid}: {x!r}" for sid, x in bad[:3])
        log.warning("ignored %d stored value(s) of %s that are not numbers (%s%s)", len(bad),
                    path, shown, ", ..." if len(bad) > 3 else "")
    return out


def _in_database(view: fo.core.collections.SampleCollection, field: str, threshold: float
                 ) -> int:
    """The measures and the difficulty of confidence-only proposals, computed by MongoDB in one
    update per 50,000 samples (no data through Python: 10^6 samples in seconds). A stored
    confidence that is not a number counts as unknown."""
    dataset = shim.base_dataset(view)
    base = f"{field}.detections"
    schema.declare(dataset, {**{f"{base}.{name}": "float" for name in
                                ("least_confidence", "margin", "entropy")},
                             DIFFICULTY_FIELD: "float"})
    c = {"$min": [1.0, {"$max": [0.0, {"$convert": {
        "input": "$$d.confidence", "to": "double", "onError": None, "onNull": None}}]}]}
    xlnx = {"$cond": [{"$gt": ["$$x", 0]}, {"$multiply": ["$$x", {"$ln": "$$x"}]}, 0.0]}
    entropy = {"$divide": [{"$subtract": [0.0, {"$add": [
        {"$let": {"vars": {"x": "$$c"}, "in": xlnx}},
        {"$let": {"vars": {"x": {"$subtract": [1.0, "$$c"]}}, "in": xlnx}}]}]}, math.log(2)]}
    measures = {"least_confidence": {"$subtract": [1.0, {"$max": ["$$c", {"$subtract": [1.0,
                                                                                       "$$c"]}]}]},
                "margin": {"$subtract": [1.0, {"$abs": {"$subtract": [{"$multiply": [2.0, "$$c"]},
                                                                     1.0]}}]},
                "entropy": entropy}
    per_label = {"$map": {"input": f"${base}", "as": "d", "in": {"$let": {
        "vars": {"c": c}, "in": {"$cond": [{"$eq": ["$$c", None]}, "$$d",
                                           {"$mergeObjects": ["$$d", measures]}]}}}}}
    factor = {"$let": {"vars": {"c": c}, "in": {"$switch": {"branches": [
        {"case": {"$eq": ["$$c", None]}, "then": 1.0},
        {"case": {"$lt": ["$$c", threshold]}, "then": {"$subtract": [1.0, {"$multiply": [
            W_HIDDEN, {"$pow": [{"$divide": ["$$c", threshold]}, 2]}]}]}},
    ], "default": {"$subtract": [1.0, {"$min": [1.0, {"$multiply": [
        W_SHOWN, {"$subtract": [1.0, "$$c"]}]}]}]}}}}}
    keep = {"$reduce": {"input": f"${base}", "initialValue": 1.0,
                        "in": {"$multiply": ["$$value", {"$let": {"vars": {"d": "$$this"},
                                                                   "in": factor}}]}}}
    coll = shim.sample_collection(dataset)
    scored = 0
    for where in shim.sample_filter(view):
        has = {"$and": [where, {base: {"$type": "array"}}]}
        counted = list(coll.aggregate([{"$match": has}, {"$unwind": f"${base}"},
                                       {"$count": "n"}]))
        scored += int(counted[0]["n"]) if counted else 0
        coll.update_many(has, [{"$set": {base: per_label}},
                               {"$set": {DIFFICULTY_FIELD: {"$subtract": [1.0, keep]}}}])
        coll.update_many({"$and": [where, {base: {"$not": {"$type": "array"}}}]},
                         {"$set": {DIFFICULTY_FIELD: 0.0}})
    shim.reload_sample_docs(dataset, None)
    return scored


def _store(view: fo.core.collections.SampleCollection, path: str, values: dict[str, float]
           ) -> None:
    """Declare the float field ``path`` (a sample field or an attribute of an embedded
    label) when needed and set it per sample id."""
    schema.declare(shim.base_dataset(view), {path: "float"})
    if values:
        view.set_values(path, values, key_field="id", validate=False)


def _classification_uncertainty(view: fo.core.collections.SampleCollection, field: str) -> int:
    """Measures on an image-level ``Classification``: difficulty is its entropy-based
    uncertainty raised by TTA instability, MC-dropout variance and member disagreement."""
    ids, labels = view.values(["id", field])
    updates: dict[str, dict[str, float]] = {"least_confidence": {}, "margin": {}, "entropy": {}}
    difficulty: dict[str, float] = {}
    for sid, c in zip(ids, labels, strict=True):
        if c is None:
            continue
        scores = c.get_field("scores") if c.has_field("scores") else None
        measures = proposal_uncertainty(c.confidence, scores if isinstance(scores, dict) else None)
        for name, value in measures.items():
            updates[name][sid] = value
        keep = 1.0 - measures["margin"]
        for attr, w, f in (("tta_instability", W_TTA, lambda x: x),
                           ("mc_variance", W_MC, math.sqrt),
                           ("agreement", W_DISAGREE, lambda x: 1.0 - x)):
            v = c.get_field(attr) if c.has_field(attr) else None
            if v is not None and math.isfinite(v):
                keep *= 1.0 - min(1.0, w * max(0.0, f(v)))
        difficulty[sid] = 1.0 - keep
    for name, values in updates.items():
        _store(view, f"{field}.{name}", values)
    _store(view, DIFFICULTY_FIELD, difficulty)
    return len(difficulty)
