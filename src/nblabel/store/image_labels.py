"""Image-level labels in FiftyOne: proposals read from a ``Classifications`` (or a single
``Classification``) field, reviewed labels written to a ``Classifications`` field with nblabel's
review attributes, and optionally as sample tags (the store's only code for them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from nblabel.core.image_labels import ImageLabel
from nblabel.core.labels import InvalidLabelError
from nblabel.store import schema
from nblabel.store.schema import REVIEW_ATTRS

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["declare_labels", "read_labels", "write_labels"]


def declare_labels(dataset: fo.Dataset, gt_field: str) -> None:
    """Everything a label review writes, declared before it writes."""
    schema.declare(dataset, {gt_field: "classifications", **{
        f"{gt_field}.classifications.{a}": k for a, k in REVIEW_ATTRS.items()}})


def read_labels(dataset: fo.Dataset, sample_ids: Iterable[str], field: str,
                problems: list[str] | None = None) -> dict[str, list[ImageLabel]]:
    """The proposed labels of ``field`` on each sample; a label stored wrongly (no class, a
    confidence outside [0, 1]) is left out and named in ``problems``."""
    ids = list(sample_ids)
    out: dict[str, list[ImageLabel]] = {sid: [] for sid in ids}
    if field not in dataset.get_field_schema():
        return out
    problems = problems if problems is not None else []
    for sid, value in zip(*dataset.select(ids).values(["id", field]), strict=True):
        if value is None:
            continue
        labels = getattr(value, "classifications", None)
        for lab in labels if labels is not None else [value]:
            try:
                conf = lab.confidence
                out[sid].append(ImageLabel(str(lab.id), str(lab.label or ""),
                                           None if conf is None else float(conf)))
            except (InvalidLabelError, TypeError, ValueError) as exc:
                problems.append(f"sample {sid}, {field} {lab.id}: {exc}: left out")
    return out


def write_labels(dataset: fo.Dataset, labels: Mapping[str, Iterable[ImageLabel]],
                 gt_field: str, *, reviewer: str = "", tags: bool = False,
                 previous_tags: Mapping[str, Iterable[str]] | None = None) -> None:
    """Replace ``gt_field`` on each sample of ``labels`` with its kept labels (one bulk write);
    with ``tags``, the kept classes are also the sample's tags (those of ``previous_tags``, the
    classes this review tagged before, are taken off first)."""
    import fiftyone as fo

    ids = list(labels)
    if not ids:
        return
    declare_labels(dataset, gt_field)
    kinds = {f"{gt_field}.classifications.{n}": schema.ATTRIBUTE_KINDS[schema.stored_kind(v)]
             for sid in ids for lab in labels[sid] for n, v in lab.attributes.items()}
    if kinds:
        schema.declare(dataset, kinds)
    now = datetime.now(timezone.utc)
    values: dict[str, Any] = {}
    for sid in ids:
        kept = [lab for lab in labels[sid] if lab.kept]
        values[sid] = fo.Classifications(classifications=[
            fo.Classification(label=lab.label, confidence=lab.confidence, review=lab.status,
                              reviewer=reviewer, reviewed_at=now, **lab.attributes)
            for lab in kept])
    view = dataset.select(ids)
    view.set_values(gt_field, values, key_field="id")
    if tags:
        for sid in ids:
            old = set((previous_tags or {}).get(sid, ()))
            new = {lab.label for lab in labels[sid] if lab.kept}
            one = dataset.select(sid)
            if old - new:
                one.untag_samples(sorted(old - new))
            if new:
                one.tag_samples(sorted(new))
