"""Consensus review: merge k reviewers' labels per image by weighted majority vote.

In consensus mode (``ReviewSession(..., consensus=k)``) every reviewer reviews the same images
independently; each reviewer's kept boxes land in the reviews field (``gt_field`` of their
sessions) carrying ``reviewer``, and the sample field ``nblabel_reviewers`` lists who reviewed
the image (a reviewer who kept nothing still votes "no object").

:func:`merge_consensus` then, per image:

1. groups the reviewers' boxes into objects: each box joins the object whose mean box it
   overlaps best (IoU >= ``iou``) and that has no box of its reviewer yet, else starts a new one;
2. keeps an object when the weight of the reviewers who drew it is more than half the weight
   of all the image's reviewers; its label is the weighted majority of their labels, its box the
   weighted mean of the boxes with that label;
3. scores agreement: a reviewer agrees on an object when they drew it with the winning label
   (kept object) or did not draw it (dropped object). Per image, ``nblabel_agreement`` is the
   share of (reviewer, object) pairs in agreement (1.0 for an image nobody drew anything on);
   ``nblabel_reviewer_agreement`` holds each reviewer's share on the image, and the dataset's
   ``info["nblabel_reviewer_agreement"]`` each reviewer's share over all merged images.

``weights="agreement"`` first merges with equal weights, then again with each reviewer weighted
by their agreement from the first pass (reviewers who agree with the majority count more).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nblabel.core.geometry import greedy_clusters
from nblabel.store import shim
from nblabel.store.schema import (
    AGREEMENT_FIELD,
    REVIEWER_AGREEMENT_FIELD,
    REVIEWER_AGREEMENT_INFO_KEY,
    REVIEWERS_FIELD,
)

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["CONSENSUS_TAG", "ConsensusReport", "merge_consensus", "merge_image"]

CONSENSUS_TAG = "consensus"

Box4 = tuple[float, float, float, float]


@dataclass
class MergedObject:
    """One object after the vote: the reviewers' boxes that were matched to it."""

    members: dict[str, tuple[str, Box4]]  # reviewer -> (label, relative box)
    kept: bool = False
    label: str | None = None
    box: Box4 | None = None
    support: float = 0.0  # weight of the reviewers who drew it / weight of all reviewers

    def mean_box(self) -> Box4:
        boxes = [b for _, b in self.members.values()]
        return tuple(sum(b[i] for b in boxes) / len(boxes) for i in range(4))  # type: ignore[return-value]


@dataclass
class ConsensusReport:
    """What :func:`merge_consensus` merged."""

    merged_samples: int = 0
    skipped_samples: int = 0  # fewer reviewers than ``min_reviewers``
    objects_kept: int = 0
    objects_dropped: int = 0
    reviewer_agreement: dict[str, float] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)


def merge_image(
    boxes: Mapping[str, list[tuple[str, Box4]]],
    reviewers: list[str],
    weights: Mapping[str, float] | None = None,
    iou: float = 0.5,
) -> tuple[list[MergedObject], dict[str, tuple[int, int]]]:
    """Vote on one image. ``boxes``: reviewer -> [(label, relative xywh)]; ``reviewers``: all
    who reviewed the image. Returns the objects and, per reviewer, (agreeing, total) counts."""
    w = {r: float((weights or {}).get(r, 1.0)) for r in reviewers}
    total = sum(w.values())
    # Higher-weight reviewers seed the objects; ties by name for a stable result. A reviewer's
    # boxes go to different objects.
    drawn = [(r, label, box) for r in sorted(boxes, key=lambda r: (-w.get(r, 1.0), r))
             for label, box in boxes[r]]
    groups = greedy_clusters(
        drawn, lambda item: item[2], min_iou=iou,
        centre=lambda items: tuple(sum(b[i] for _, _, b in items) / len(items)
                                   for i in range(4)),
        can_join=lambda items, item: all(r != item[0] for r, _, _ in items),
    )
    objects = [MergedObject({r: (label, box) for r, label, box in g}) for g in groups]
    counts: dict[str, list[int]] = {r: [0, 0] for r in reviewers}
    for obj in objects:
        obj.support = sum(w.get(r, 0.0) for r in obj.members) / total if total else 0.0
        obj.kept = obj.support > 0.5
        if obj.kept:
            votes: dict[str, float] = defaultdict(float)
            for r, (label, _) in obj.members.items():
                votes[label] += w.get(r, 0.0)
            obj.label = max(sorted(votes), key=lambda lab: votes[lab])
            chosen = [(w.get(r, 0.0), b) for r, (lab, b) in obj.members.items()
                      if lab == obj.label]
            sw = sum(x for x, _ in chosen) or 1.0
            obj.box = tuple(sum(x * b[i] for x, b in chosen) / sw for i in range(4))  # type: ignore[assignment]
        for r in reviewers:
            drew = obj.members.get(r)
            agrees = (drew is not None and drew[0] == obj.label) if obj.kept else drew is None
            counts[r][0] += agrees
            counts[r][1] += 1
    return objects, {r: (a, n) for r, (a, n) in counts.items()}


def merge_consensus(
    view: fo.core.collections.SampleCollection,
    reviews_field: str = "reviews",
    out_field: str = "ground_truth",
    *,
    iou: float = 0.5,
    weights: Mapping[str, float] | str | None = None,
    min_reviewers: int = 2,
) -> ConsensusReport:
    """Merge the reviewers' labels in ``reviews_field`` into ``out_field`` (see module doc).

    Images with fewer than ``min_reviewers`` reviewers are left alone (and counted). Merged
    detections carry ``support`` (weighted vote share), ``votes`` and ``reviewers``; merged
    samples get the tag ``consensus`` and the agreement fields.
    """
    import fiftyone as fo

    if min_reviewers < 1:
        raise ValueError(f"min_reviewers must be >= 1, got {min_reviewers}")
    ds = shim.base_dataset(view)
    if not ds.has_sample_field(reviews_field):
        raise ValueError(f"dataset {ds.name!r} has no reviews field {reviews_field!r}")
    if not ds.has_sample_field(REVIEWERS_FIELD):
        raise ValueError(f"dataset {ds.name!r} has no {REVIEWERS_FIELD!r}: nothing was reviewed"
                         " with nblabel yet")
    ids, reviewer_lists, labels = view.values(["id", REVIEWERS_FIELD, reviews_field])
    per_image: dict[str, tuple[dict[str, list[tuple[str, Box4]]], list[str]]] = {}
    report = ConsensusReport()
    for sid, reviewers, dets in zip(ids, reviewer_lists, labels, strict=True):
        reviewers = sorted(set(reviewers or []))
        if len(reviewers) < min_reviewers:
            report.skipped_samples += 1
            continue
        boxes: dict[str, list[tuple[str, Box4]]] = defaultdict(list)
        for det in (dets.detections if dets is not None else []):
            r = det.get_field("reviewer") if det.has_field("reviewer") else None
            if isinstance(r, str) and r in reviewers:
                x, y, w, h = (float(v) for v in det.bounding_box)
                boxes[r].append((det.label, (x, y, w, h)))
        per_image[sid] = (dict(boxes), reviewers)

    if isinstance(weights, str):
        if weights != "agreement":
            raise ValueError(f"weights must be a mapping, None or 'agreement', got {weights!r}")
        first = _vote(per_image, None, iou)[1]
        weights = {r: max(a, 1e-3) for r, a in first.items()}
    results, overall = _vote(per_image, weights, iou)
    report.weights = {r: float((weights or {}).get(r, 1.0)) for r in overall}
    report.reviewer_agreement = overall

    out: dict[str, Any] = {}
    agreement: dict[str, float] = {}
    per_reviewer: dict[str, dict[str, float]] = {}
    for sid, (objects, counts) in results.items():
        dets_out = []
        for obj in objects:
            if obj.kept:
                assert obj.box is not None
                dets_out.append(fo.Detection(
                    label=obj.label, bounding_box=list(obj.box), support=obj.support,
                    votes=len(obj.members), reviewers=sorted(obj.members)))
                report.objects_kept += 1
            else:
                report.objects_dropped += 1
        out[sid] = fo.Detections(detections=dets_out)
        agree = sum(a for a, _ in counts.values())
        n = sum(t for _, t in counts.values())
        agreement[sid] = agree / n if n else 1.0
        per_reviewer[sid] = {r: (a / t if t else 1.0) for r, (a, t) in counts.items()}
    if out:
        merged = ds.select(list(out))
        merged.set_values(out_field, out, key_field="id")
        merged.set_values(AGREEMENT_FIELD, agreement, key_field="id")
        merged.set_values(REVIEWER_AGREEMENT_FIELD, per_reviewer, key_field="id")
        merged.tag_samples(CONSENSUS_TAG)
        ds.info[REVIEWER_AGREEMENT_INFO_KEY] = overall
        ds.save()
    report.merged_samples = len(out)
    return report


def _vote(
    per_image: Mapping[str, tuple[dict[str, list[tuple[str, Box4]]], list[str]]],
    weights: Mapping[str, float] | None,
    iou: float,
) -> tuple[dict[str, tuple[list[MergedObject], dict[str, tuple[int, int]]]], dict[str, float]]:
    results = {}
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sid, (boxes, reviewers) in per_image.items():
        objects, counts = merge_image(boxes, reviewers, weights, iou)
        results[sid] = (objects, counts)
        for r, (a, n) in counts.items():
            totals[r][0] += a
            totals[r][1] += n
    overall = {r: (a / n if n else 1.0) for r, (a, n) in sorted(totals.items())}
    return results, overall
