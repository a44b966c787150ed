"""Image-level labels as a kind: multi-label classes (FiftyOne ``Classifications``) proposed
with confidences, reviewed with the triage boxes have (accept every label at or above the
threshold, reject, add one the model missed), one state per label journaled like tracks and
shapes (:class:`~nblabel.core.records.StateRecord`). Pure: the session is
:class:`nblabel.reviewing.labels.review.LabelReview`.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nblabel.core.labels import STATUSES, InvalidLabelError
from nblabel.core.records import StateRecord

__all__ = ["ImageLabel", "LabelDecision", "accept", "accept_above", "new_label", "reject",
           "set_attributes"]


@dataclass(frozen=True)
class ImageLabel:
    """One label of an image: its class, the model's confidence (None: added by hand), its
    review status and attributes."""

    id: str
    label: str
    confidence: float | None = None
    status: str = "pending"
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.label:
            raise InvalidLabelError(f"image label {self.id}: the class is empty")
        if self.status not in STATUSES:
            raise InvalidLabelError(f"image label {self.id}: unknown status {self.status!r}")
        c = self.confidence
        if c is not None and (not math.isfinite(c) or not 0.0 <= c <= 1.0):
            raise InvalidLabelError(f"image label {self.id} ({self.label}): confidence {c!r} "
                                    "is not in [0, 1]")

    @property
    def kept(self) -> bool:
        return self.status in ("accepted", "edited", "added")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "confidence": self.confidence,
                "status": self.status,
                **({"attributes": dict(self.attributes)} if self.attributes else {})}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ImageLabel:
        return cls(str(d["id"]), str(d["label"]), d.get("confidence"),
                   str(d.get("status", "pending")), dict(d.get("attributes") or {}))


def accept(lab: ImageLabel) -> ImageLabel:
    return replace(lab, status="accepted" if lab.status == "pending" else lab.status)


def reject(lab: ImageLabel) -> ImageLabel:
    return replace(lab, status="rejected")


def accept_above(labels: Sequence[ImageLabel], threshold: float) -> list[ImageLabel]:
    """The pending labels at or above ``threshold``, accepted (the triage of one key)."""
    return [accept(lab) for lab in labels if lab.status == "pending"
            and lab.confidence is not None and lab.confidence >= threshold]


def new_label(label: str) -> ImageLabel:
    """A label the reviewer added (the model missed it)."""
    return ImageLabel(uuid.uuid4().hex[:24], label, None, "added")


def set_attributes(lab: ImageLabel, values: Mapping[str, Any]) -> ImageLabel:
    """``lab`` with ``values`` set (None clears one; checked already), kept."""
    merged = {k: v for k, v in {**lab.attributes, **values}.items() if v is not None}
    status = lab.status if lab.status in ("added", "edited") else "edited"
    return replace(lab, attributes=merged, status=status)


class LabelDecision(StateRecord):
    """One image label's state after a review action (``state=None``: undone back to no
    decision), journaled with the key ``image_label:<id>``."""

    KIND = "image_label"

    @staticmethod
    def dump(state: Any) -> dict[str, Any]:
        return dict(state.to_dict())

    @staticmethod
    def load(d: Mapping[str, Any]) -> Any:
        return ImageLabel.from_dict(d)
