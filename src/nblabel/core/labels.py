"""Core types: boxes, proposals and review decisions.

Coordinates: inside nblabel (and in the widget) a :class:`Box` is in image pixels, ``x, y`` the
top-left corner and ``w, h`` the size. At the FiftyOne boundary boxes are FiftyOne's relative
``[x, y, w, h]`` in ``[0, 1]``; :meth:`Box.to_relative` and :meth:`Box.from_relative` convert.

Validation policy (one place, used by every proposal source and by the widget):

- a NaN or infinite coordinate or confidence is refused (:class:`InvalidLabelError`);
- a negative width or height is refused;
- a confidence outside ``[0, 1]`` is refused;
- a box that sticks out of the image is clipped to it; a box that lies wholly outside the image,
  or is empty after clipping, is refused.
"""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from nblabel.core.geometry import iou

__all__ = [
    "IMAGE_LABEL_KEY",
    "STATUSES",
    "Action",
    "Box",
    "Decision",
    "ImageSize",
    "InvalidLabelError",
    "Proposal",
]


#: Review statuses of anything reviewed (a box, a track, a shape, a point), in one order: the
#: index is the status code every widget sends (``statuses`` in js/src/editor/contract.json).
STATUSES: tuple[str, ...] = ("pending", "accepted", "rejected", "edited", "added")

#: The key of a sample's image-level (classification) decision.
IMAGE_LABEL_KEY = "image-label"


class InvalidLabelError(ValueError):
    """A box, proposal or decision with values that cannot be right (the message says which)."""


@dataclass(frozen=True, slots=True)
class ImageSize:
    """Width and height of an image in pixels."""

    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise InvalidLabelError(
                f"image size must be positive, got {self.width}x{self.height}"
            )


def _finite(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidLabelError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(value):
        raise InvalidLabelError(f"{name} is {value}: it must be a finite number")
    return value


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in image pixels: top-left ``(x, y)``, width ``w``, height ``h``."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        for name in ("x", "y", "w", "h"):
            object.__setattr__(self, name, _finite(f"box {name}", getattr(self, name)))
        if self.w < 0 or self.h < 0:
            raise InvalidLabelError(
                f"box has negative size (w={self.w:g}, h={self.h:g}): width and height must be >= 0"
            )

    @classmethod
    def from_xyxy(cls, x1: float, y1: float, x2: float, y2: float) -> Box:
        """Box from corner coordinates (as YOLO and most detectors return them)."""
        x1, y1 = _finite("box x1", x1), _finite("box y1", y1)
        x2, y2 = _finite("box x2", x2), _finite("box y2", y2)
        if x2 < x1 or y2 < y1:
            raise InvalidLabelError(
                f"box corners are inverted ({x1:g},{y1:g})-({x2:g},{y2:g}): "
                "the second corner must be below and right of the first"
            )
        return cls(x1, y1, x2 - x1, y2 - y1)

    @classmethod
    def from_relative(cls, rel: list[float] | tuple[float, ...], size: ImageSize) -> Box:
        """Box from FiftyOne's relative ``[x, y, w, h]`` for an image of ``size``."""
        if len(rel) != 4:
            raise InvalidLabelError(f"relative box needs 4 numbers, got {len(rel)}")
        x, y, w, h = (float(v) for v in rel)
        return cls(x * size.width, y * size.height, w * size.width, h * size.height)

    @property
    def x2(self) -> float:
        return self.x + self.w

    @property
    def y2(self) -> float:
        return self.y + self.h

    @property
    def area(self) -> float:
        return self.w * self.h

    def to_relative(self, size: ImageSize) -> list[float]:
        """FiftyOne's relative ``[x, y, w, h]`` for an image of ``size``."""
        return [
            self.x / size.width,
            self.y / size.height,
            self.w / size.width,
            self.h / size.height,
        ]

    def clipped(self, size: ImageSize) -> Box:
        """This box clipped to the image; refuses a box that does not overlap the image."""
        x1 = min(max(self.x, 0.0), float(size.width))
        y1 = min(max(self.y, 0.0), float(size.height))
        x2 = min(max(self.x2, 0.0), float(size.width))
        y2 = min(max(self.y2, 0.0), float(size.height))
        if x2 - x1 <= 0 or y2 - y1 <= 0:
            raise InvalidLabelError(
                f"box ({self.x:g}, {self.y:g}, {self.w:g}, {self.h:g}) lies outside the "
                f"{size.width}x{size.height} image"
            )
        return Box(x1, y1, x2 - x1, y2 - y1)

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other`` (0 when either is empty)."""
        return iou(self.as_list(), other.as_list())

    def as_list(self) -> list[float]:
        return [self.x, self.y, self.w, self.h]


def _check_confidence(value: float | None) -> float | None:
    if value is None:
        return None
    value = _finite("confidence", value)
    if not 0.0 <= value <= 1.0:
        raise InvalidLabelError(f"confidence {value:g} is outside [0, 1]")
    return value


@dataclass(frozen=True, slots=True)
class Proposal:
    """A label proposed by a model: class, box in pixels, confidence and where it came from.

    ``id`` is the id of the stored proposal (the FiftyOne label id once it is in a dataset);
    ``scores`` optionally holds per-class scores when the model gives them; ``mask`` is an
    instance mask as PNG bytes (8-bit, non-zero inside), covering the box as in FiftyOne;
    ``agreement`` is, for a fused ensemble proposal, the share of members that proposed it.
    """

    label: str
    box: Box
    confidence: float | None
    source: str = ""
    scores: Mapping[str, float] | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    mask: bytes | None = None
    agreement: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise InvalidLabelError(
                f"proposal label must be a non-empty string, got {self.label!r}"
            )
        object.__setattr__(self, "confidence", _check_confidence(self.confidence))
        if self.scores is not None:
            checked = {str(k): _finite(f"score of {k!r}", v) for k, v in self.scores.items()}
            object.__setattr__(self, "scores", checked)

    def clipped(self, size: ImageSize) -> Proposal:
        """This proposal with its box clipped to the image (see :meth:`Box.clipped`)."""
        return replace(self, box=self.box.clipped(size))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "box": self.box.as_list(),
            "confidence": self.confidence,
            "source": self.source,
            "scores": dict(self.scores) if self.scores is not None else None,
            "mask": base64.b64encode(self.mask).decode() if self.mask is not None else None,
            "agreement": self.agreement,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Proposal:
        return cls(
            label=d["label"],
            box=Box(*d["box"]),
            confidence=d.get("confidence"),
            source=d.get("source", ""),
            scores=d.get("scores"),
            id=d["id"],
            mask=base64.b64decode(d["mask"]) if d.get("mask") else None,
            agreement=d.get("agreement"),
        )


class Action(str, Enum):
    """What the reviewer did with a proposal (or ``ADDED`` for a box drawn by hand).

    ``CLEARED`` withdraws the decision on a key (undo, or deleting a box drawn by hand): the
    proposal is undecided again, or the added box is gone.
    """

    ACCEPTED = "accepted"
    EDITED = "edited"
    REJECTED = "rejected"
    ADDED = "added"
    CLEARED = "cleared"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class Decision:
    """One review decision on one sample.

    ``label``/``box`` are the final values (``None`` for a rejection); ``proposal`` is the original
    proposal (``None`` for an added box). ``key`` names what is decided on: the proposal id, or a
    fresh id for an added box, so a later decision with the same key supersedes an earlier one.
    ``seconds_on_image`` is the time the reviewer had spent on the image when deciding.
    """

    sample_id: str
    action: Action
    image_size: ImageSize
    label: str | None = None
    box: Box | None = None
    proposal: Proposal | None = None
    reviewer: str = ""
    decided_at: datetime = field(default_factory=_utcnow)
    seconds_on_image: float = 0.0
    key: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    kind: str = "box"
    #: An instance mask the reviewer made (clicks, a segmenter, a brush): PNG bytes covering
    #: ``box`` as in FiftyOne (see :func:`nblabel.core.images.encode_mask`).
    mask: bytes | None = None
    #: The label's attributes (occluded, truncated, ...), checked against the session's
    #: declaration (:mod:`nblabel.core.attributes`); None when none was set.
    attributes: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("box", "image"):
            raise InvalidLabelError(f"decision kind must be 'box' or 'image', got {self.kind!r}")
        if self.kind == "image":
            # An image-level (classification) decision: one per sample, no box.
            object.__setattr__(self, "key", IMAGE_LABEL_KEY)
        action = Action(self.action)
        object.__setattr__(self, "action", action)
        seconds = _finite("seconds_on_image", self.seconds_on_image)
        if seconds < 0:
            raise InvalidLabelError(f"seconds_on_image is negative ({seconds:g})")
        object.__setattr__(self, "seconds_on_image", seconds)
        if self.decided_at.tzinfo is None:
            raise InvalidLabelError("decided_at must be timezone-aware (use UTC)")
        if action is Action.CLEARED:
            if not self.key:
                raise InvalidLabelError("clearing needs the key of the decision it withdraws")
            object.__setattr__(self, "label", None)
            object.__setattr__(self, "box", None)
        elif action is Action.REJECTED:
            if self.proposal is None:
                raise InvalidLabelError("a rejection needs the proposal it rejects")
        elif self.kind == "image":
            if not self.label:
                raise InvalidLabelError(f"an {action.value} image label needs a class")
            object.__setattr__(self, "box", None)
        else:
            if self.label is None or self.box is None:
                raise InvalidLabelError(f"an {action.value} decision needs a final label and box")
            if not self.label:
                raise InvalidLabelError("the final label is empty")
            object.__setattr__(self, "box", self.box.clipped(self.image_size))
        if self.mask is not None and (self.kind != "box" or not self.keeps_label):
            raise InvalidLabelError(f"a mask needs a box that is kept, not an {action.value} "
                                    f"{self.kind} decision")
        if self.attributes is not None:
            if not self.keeps_label:
                raise InvalidLabelError(f"attributes need a label that is kept, not an "
                                        f"{action.value} decision")
            object.__setattr__(self, "attributes", dict(self.attributes))
        if action in (Action.ACCEPTED, Action.EDITED) and self.proposal is None:
            raise InvalidLabelError(f"an {action.value} decision needs its original proposal")
        if action is Action.ADDED and self.proposal is not None:
            raise InvalidLabelError("an added box has no original proposal")
        if not self.key:
            key = self.proposal.id if self.proposal is not None else uuid.uuid4().hex
            object.__setattr__(self, "key", key)

    @classmethod
    def accept(cls, sample_id: str, proposal: Proposal, size: ImageSize, **kw: Any) -> Decision:
        return cls(sample_id, Action.ACCEPTED, size, proposal.label, proposal.box, proposal, **kw)

    @classmethod
    def reject(cls, sample_id: str, proposal: Proposal, size: ImageSize, **kw: Any) -> Decision:
        return cls(sample_id, Action.REJECTED, size, None, None, proposal, **kw)

    @classmethod
    def edit(
        cls,
        sample_id: str,
        proposal: Proposal,
        size: ImageSize,
        label: str,
        box: Box,
        **kw: Any,
    ) -> Decision:
        return cls(sample_id, Action.EDITED, size, label, box, proposal, **kw)

    @classmethod
    def add(cls, sample_id: str, size: ImageSize, label: str, box: Box, **kw: Any) -> Decision:
        return cls(sample_id, Action.ADDED, size, label, box, None, **kw)

    @classmethod
    def clear(
        cls, sample_id: str, key: str, size: ImageSize, proposal: Proposal | None = None,
        **kw: Any,
    ) -> Decision:
        return cls(sample_id, Action.CLEARED, size, None, None, proposal, key=key, **kw)

    @property
    def keeps_label(self) -> bool:
        """Whether this decision puts a label in the ground truth (accepted, edited, added)."""
        return self.action in (Action.ACCEPTED, Action.EDITED, Action.ADDED)

    @classmethod
    def image_label(
        cls, sample_id: str, action: Action | str, size: ImageSize, label: str | None,
        proposal: Proposal | None = None, **kw: Any,
    ) -> Decision:
        """An image-level (classification) decision: accept, replace (edited), reject or set
        (added, with no proposal) the image's class."""
        return cls(sample_id, Action(action), size, label, None, proposal, kind="image", **kw)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "sample_id": self.sample_id,
            "action": self.action.value,
            "image_size": [self.image_size.width, self.image_size.height],
            "label": self.label,
            "box": self.box.as_list() if self.box is not None else None,
            "proposal": self.proposal.to_dict() if self.proposal is not None else None,
            "reviewer": self.reviewer,
            "decided_at": self.decided_at.isoformat(),
            "seconds_on_image": self.seconds_on_image,
            "kind": self.kind,
            **({"mask": base64.b64encode(self.mask).decode()} if self.mask is not None else {}),
            **({"attributes": dict(self.attributes)} if self.attributes else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Decision:
        return cls(
            sample_id=d["sample_id"],
            action=Action(d["action"]),
            image_size=ImageSize(*d["image_size"]),
            label=d.get("label"),
            box=Box(*d["box"]) if d.get("box") is not None else None,
            proposal=Proposal.from_dict(d["proposal"]) if d.get("proposal") else None,
            reviewer=d.get("reviewer", ""),
            decided_at=datetime.fromisoformat(d["decided_at"]),
            seconds_on_image=d.get("seconds_on_image", 0.0),
            kind=d.get("kind", "box"),
            mask=base64.b64decode(d["mask"]) if d.get("mask") else None,
            attributes=d.get("attributes") or None,
            key=d["key"],
            id=d["id"],
        )
