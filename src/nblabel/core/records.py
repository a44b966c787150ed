"""What the journal keeps for items reviewed as a whole: an item's state after an action.

A video's tracks (:mod:`nblabel.core.track_edits`) and an image's keypoint instances and
polylines (:mod:`nblabel.core.shapes`) are journaled the same way: each action records the new
state of every item it changed, under the key ``<kind>:<item id>``, so the latest record per
item wins when a session replays the journal; ``state=None`` records an action undone back to
no decision. A kind is a subclass naming itself (``KIND``) and how its state is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, TypeVar

__all__ = ["StateRecord"]

R = TypeVar("R", bound="StateRecord")


@dataclass(frozen=True)
class StateRecord:
    """An item's state after a review action (see the module doc)."""

    KIND: ClassVar[str] = ""

    sample_id: str
    item_id: str
    state: Any
    reviewer: str = ""
    seconds: float = 0.0
    decided_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @staticmethod
    def dump(state: Any) -> dict[str, Any]:  # pragma: no cover - each kind stores its own
        raise NotImplementedError

    @staticmethod
    def load(d: Mapping[str, Any]) -> Any:  # pragma: no cover - each kind reads its own
        raise NotImplementedError

    @property
    def key(self) -> str:
        return f"{self.KIND}:{self.item_id}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.KIND, "sample_id": self.sample_id,
                f"{self.KIND}_id": self.item_id, "reviewer": self.reviewer,
                "seconds": self.seconds, "decided_at": self.decided_at.isoformat(),
                self.KIND: self.dump(self.state) if self.state is not None else None}

    @classmethod
    def from_dict(cls: type[R], d: Mapping[str, Any]) -> R:
        if d.get("kind") != cls.KIND:
            raise ValueError(f"not a {cls.KIND} decision: kind {d.get('kind')!r}")
        return cls(str(d["sample_id"]), str(d[f"{cls.KIND}_id"]),
                   cls.load(d[cls.KIND]) if d.get(cls.KIND) else None,
                   str(d.get("reviewer", "")), float(d.get("seconds", 0.0)),
                   datetime.fromisoformat(d["decided_at"]), str(d["id"]))
