"""The review rules, written once: what is shown at a threshold, what is decided, when an
image's review is complete, and which decision wins when several reviewers decided.

Python applies them (session, sync, widget) and sends the results; the browser only displays.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

__all__ = ["DEFAULT_THRESHOLD", "HIDDEN_FLOOR", "can_finish_on_leave", "draws_first", "is_complete",
           "latest_vote", "shown", "visible"]


#: The confidence threshold proposals are shown at unless one is given: the widget, the
#: uncertainty measures (hidden proposals are likely misses) and the simulated reviewer share it.
DEFAULT_THRESHOLD = 0.25


def visible(confidence: float | None, threshold: float) -> bool:
    """A proposal is shown at ``threshold`` when it has no confidence or reaches it."""
    return confidence is None or confidence >= threshold


#: The floor of a source whose proposals are not shown at all (above every confidence).
HIDDEN_FLOOR = 1.01


def shown(confidence: float | None, source: str, threshold: float,
          floors: Mapping[str, float] | None = None) -> bool:
    """A proposal is shown when it reaches the reviewer's ``threshold`` and its source's
    measured floor (``floors``: per source, the lowest confidence worth showing, above 1 for a
    source that stepped back; see :class:`nblabel.core.ledger.Ledger`)."""
    floor = floors.get(source, 0.0) if floors else 0.0
    return visible(confidence, max(threshold, floor)) and floor < HIDDEN_FLOOR


def draws_first(proposals: int, unusable: int = 0) -> bool:
    """With nothing proposed on an image, drawing is the default action (a drag draws a box);
    with proposals, a drag moves boxes or pans."""
    return proposals == 0 and unusable == 0


def is_complete(
    proposal_ids: Collection[str],
    decided_ids: Collection[str],
    *,
    has_image_label: bool = False,
    image_decided: bool = False,
    completed: bool = False,
) -> bool:
    """An image's review is complete when someone moved past it with nothing left to decide
    (``completed``), or when every proposal on it is decided, its image-level proposal (if any)
    is decided, and there was something to decide.

    The ``reviewed`` tag, ``widget.reviewed`` and the session's progress all use this rule; over
    several reviewers, a proposal is decided when anyone's latest decision on it stands.
    """
    if completed:
        return True
    boxes_done = all(pid in decided_ids for pid in proposal_ids)
    image_done = image_decided or not has_image_label
    return boxes_done and image_done and bool(proposal_ids or image_decided)


def can_finish_on_leave(
    shown_ids: Iterable[str], decided_ids: Collection[str], *, has_image_label: bool = False,
    image_decided: bool = False, anything_decided: bool | None = None,
) -> bool:
    """Moving past an image finishes it when the reviewer decided something on it (a proposal,
    a box drawn, the image's class) and every proposal it showed is decided (proposals hidden
    below the threshold stay undecided: they are not objects, for the ground truth).

    Moving past an image where nothing was decided is a skip: it stays unreviewed, so looking
    ahead never stores empty images as labeled negatives. "Nothing here" is its own action
    (the widget's ``mark_done``), which completes the image with what it holds.
    ``anything_decided`` defaults to whether ``decided_ids`` or the image class is decided.
    """
    if has_image_label and not image_decided:
        return False
    if anything_decided is None:
        anything_decided = bool(decided_ids) or image_decided
    return anything_decided and all(pid in decided_ids for pid in shown_ids)


def latest_vote(votes: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The decision that stands among several reviewers' decisions on one label: the latest by
    decision time (``at``), ties broken by journal id so every process picks the same one."""
    best: Mapping[str, Any] | None = None
    for v in votes:
        if best is None or (v["at"], v["journal"]) > (best["at"], best["journal"]):
            best = v
    return best
