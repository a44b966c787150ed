"""The constants both sides of every widget need, declared once in ``js/src/editor/contract.json``
(shipped as ``nblabel/static/contract.json``): statuses and their colours, the default label of a
new object, the answer time limit, the box editor's margins, zoom limits and the media windows
(frames and slices sent around the one shown). The browser imports the same file, so the two
sides cannot drift; a unit test holds the statuses to :data:`nblabel.core.labels.STATUSES`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["CONTRACT_PATH", "STATIC", "MediaWindow", "contract", "default_label", "media_window"]

#: The built widget: bundles, styles and the JSON files both sides read.
STATIC = Path(__file__).parents[2] / "static"
CONTRACT_PATH = STATIC / "contract.json"


@cache
def contract() -> dict[str, Any]:
    """The contract, read once."""
    return dict(json.loads(CONTRACT_PATH.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class MediaWindow:
    """Media sent per message (``chunk``) and kept around the item shown: ``behind`` and
    ``ahead`` of it are sent, ``keep`` are held by the browser."""

    chunk: int
    behind: int
    ahead: int
    keep: int

    def near(self, at: int, k: int) -> bool:
        """Whether item ``k`` is still worth sending when the reviewer is at ``at``."""
        return at - self.behind <= k <= at + self.ahead


def media_window(kind: str) -> MediaWindow:
    """The window of a media kind (``"video"``, ``"volume"``)."""
    w = contract()["media"][kind]
    return MediaWindow(int(w["chunk"]), int(w["behind"]), int(w["ahead"]), int(w["keep"]))


def default_label() -> str:
    """The class of a new object when nothing else names one."""
    return str(contract()["default_label"])
