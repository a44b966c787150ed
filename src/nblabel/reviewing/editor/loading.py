"""Loading one sample for review: its image (or the error reading it) and its proposals, read
from the stored documents so that one badly stored label cannot stop the review.

A stored proposal that cannot be used (a confidence that is not a number, a box of three numbers,
an empty label, written by another tool) becomes an :class:`UnusableLabel` naming the sample,
field, label id and value: the widget shows it, the reviewer can reject it, and the image can
still be completed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nblabel.core.images import DisplayImage, ImageLoadError, encode_mask, load_display_image
from nblabel.core.labels import Box, ImageSize, InvalidLabelError, Proposal

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["SampleState", "UnusableLabel", "build_state", "parse_classification",
           "parse_detection", "read_patches"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UnusableLabel:
    """A stored proposal nblabel cannot show as a box: where it is and why."""

    id: str
    sample_id: str
    field: str
    reason: str
    label: str | None = None

    def __str__(self) -> str:
        return (f"unusable proposal {self.id} in field {self.field!r} of sample "
                f"{self.sample_id}: {self.reason}")

    def placeholder(self) -> Proposal:
        """A stand-in proposal so the reviewer's rejection can be journaled like any other."""
        return Proposal(self.label or "(unusable)", Box(0, 0, 0, 0), None, source="unusable",
                        id=self.id)


@dataclass(frozen=True, slots=True)
class SampleState:
    """One sample as the reviewer sees it: image (or the error loading it) and proposals."""

    sample_id: str
    filepath: str
    image: DisplayImage | None
    error: str | None
    size: ImageSize | None
    proposals: tuple[Proposal, ...]
    image_label: Proposal | None = None
    unusable: tuple[UnusableLabel, ...] = ()

    @property
    def proposal_ids(self) -> frozenset[str]:
        """Every stored proposal on the image, unusable ones included (all need a decision)."""
        return frozenset(p.id for p in self.proposals) | {u.id for u in self.unusable}


def _mask_png(value: Any) -> bytes | None:
    if value is None:
        return None
    import numpy as np

    if isinstance(value, bytes | bytearray):
        from fiftyone.core.utils import deserialize_numpy_array

        value = deserialize_numpy_array(bytes(value))
    return encode_mask(np.asarray(value))


def parse_detection(raw: Mapping[str, Any], size: ImageSize, sample_id: str, field: str
                    ) -> Proposal | UnusableLabel:
    """A stored detection document as a proposal, or why it cannot be one."""
    lid = str(raw.get("_id", ""))
    label = raw.get("label")
    try:
        box = raw.get("bounding_box")
        if not isinstance(box, list | tuple):
            raise InvalidLabelError(f"bounding_box is {box!r}, not a list of 4 numbers")
        confidence = raw.get("confidence")
        if confidence is not None and (isinstance(confidence, bool)
                                       or not isinstance(confidence, int | float)):
            raise InvalidLabelError(f"confidence is {confidence!r}, not a number")
        source = raw.get("source")
        return Proposal(
            label=label,  # type: ignore[arg-type]  # validated by Proposal
            box=Box.from_relative(box, size),
            confidence=confidence,
            source=source if isinstance(source, str) else "",
            id=lid,
            mask=_mask_png(raw.get("mask")),
        )
    except (InvalidLabelError, TypeError, ValueError) as exc:
        return UnusableLabel(lid, sample_id, field, str(exc),
                             label if isinstance(label, str) and label else None)


def parse_classification(raw: Mapping[str, Any], size: ImageSize, sample_id: str, field: str
                         ) -> Proposal | UnusableLabel:
    """A stored classification document as an image-level proposal, or why it cannot be one."""
    try:
        scores = raw.get("scores")
        return Proposal(raw.get("label"), Box(0, 0, size.width, size.height),  # type: ignore[arg-type]
                        raw.get("confidence"),
                        scores=scores if isinstance(scores, dict) else None,
                        id=str(raw.get("_id", "")))
    except (InvalidLabelError, TypeError, ValueError) as exc:
        label = raw.get("label")
        return UnusableLabel(str(raw.get("_id", "")), sample_id, field, str(exc),
                             label if isinstance(label, str) and label else None)


def build_state(sample_id: str, path: str, dets: Mapping[str, Any] | None,
                cls: Mapping[str, Any] | None, field: str,
                classification_field: str | None, max_side: int | None) -> SampleState:
    """The :class:`SampleState` from a sample's stored documents."""
    image: DisplayImage | None = None
    error: str | None = None
    size: ImageSize | None = None
    try:
        image = load_display_image(path, max_side=max_side)
        size = image.size
    except ImageLoadError as exc:
        error = str(exc)
    proposals: list[Proposal] = []
    unusable: list[UnusableLabel] = []
    raw_dets = (dets or {}).get("detections") if isinstance(dets, Mapping) else None
    if size is not None and isinstance(raw_dets, list):
        for raw in raw_dets:
            parsed = parse_detection(raw, size, sample_id, field)
            (proposals if isinstance(parsed, Proposal) else unusable).append(parsed)  # type: ignore[arg-type]
    image_label = None
    if size is not None and isinstance(cls, Mapping) and classification_field:
        parsed = parse_classification(cls, size, sample_id, classification_field)
        if isinstance(parsed, Proposal):
            image_label = parsed
        else:
            log.warning("%s", parsed)
    for u in unusable:
        log.warning("%s", u)
    return SampleState(sample_id, path, image, error, size, tuple(proposals), image_label,
                       tuple(unusable))


def _labels_of(value: Any) -> list[Any]:
    """The label objects in a patch's field (a ``Detections`` or a single ``Detection``)."""
    if value is None:
        return []
    return list(value.detections) if hasattr(value, "detections") else [value]


def read_patches(patches: Any, pf: str, gf: str) -> tuple[
        list[str], dict[str, set[str]], dict[str, list[tuple[str, list[float]]]]]:
    """The samples behind a patches view (``to_patches``, ``to_evaluation_patches``), in patch
    order; per sample, the proposal ids the patches point at (``focus``), and the truth boxes
    the model missed (``fn`` patches: ``missed``, label and relative box)."""
    schema = patches.get_field_schema()
    has_type = "type" in schema
    wanted = [f for f in (pf, gf) if f in schema]
    rows = patches.values(["sample_id", *wanted] + (["type"] if has_type else []))
    order: list[str] = list(dict.fromkeys(rows[0]))
    focus: dict[str, set[str]] = {}
    missed: dict[str, list[tuple[str, list[float]]]] = {}
    for k, sid in enumerate(rows[0]):
        values = dict(zip(wanted, (r[k] for r in rows[1:1 + len(wanted)]), strict=True))
        kind = rows[-1][k] if has_type else None
        if kind != "tp":
            for det in _labels_of(values.get(pf)):
                focus.setdefault(sid, set()).add(det.id)
        if kind == "fn":
            for det in _labels_of(values.get(gf)):
                missed.setdefault(sid, []).append((det.label, list(det.bounding_box)))
    return order, focus, missed


def known_classes(dataset: fo.Dataset, fields: Sequence[str]) -> list[str]:
    """Every class name found in the ``Detections`` fields ``fields`` of ``dataset``."""
    names: set[str] = set()
    schema = dataset.get_field_schema()
    for f in fields:
        if f in schema:
            names.update(x for x in dataset.distinct(f"{f}.detections.label")
                         if isinstance(x, str) and x)
    return sorted(names)


def field_hint(dataset: fo.Dataset, field: str, gt_field: str) -> str | None:
    """When the proposals field is missing but other box fields exist (an import named it
    otherwise), a message naming them; else ``None``."""
    import fiftyone as fo

    schema = dataset.get_field_schema(embedded_doc_type=fo.Detections)
    if field in schema and dataset.exists(field).limit(1).count():
        return None
    others = [f for f in schema if f not in (field, gt_field)
              and dataset.exists(f).limit(1).count()]
    if not others:
        return None
    return (f"no field {field!r} holds proposals, so nothing is "
            f"proposed; box fields here: {', '.join(others)} (review one with "
            + ", ".join(f"field={f!r}" for f in others[:2]) + ")")
