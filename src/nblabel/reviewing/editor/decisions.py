"""The decision an action makes, written once: accept, reject or edit a proposal, move, relabel
or delete a box drawn by hand, and where a box and its mask stand after the decisions so far.

Pure: these functions take an image's state and its current decisions and return new
:class:`~nblabel.core.labels.Decision` objects;
:class:`~nblabel.reviewing.editor.session.ReviewSession` journals them. A kept mask
follows a moved or resized box (cut to the new box).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nblabel.core.labels import (
    Action,
    Box,
    Decision,
    ImageSize,
    InvalidLabelError,
    Proposal,
)
from nblabel.reviewing.editor.loading import SampleState

__all__ = ["make_decision", "mask_of", "proposal_of", "standing"]


def proposal_of(state: SampleState, key: str) -> Proposal | None:
    """The proposal ``key`` names on ``state`` (an unusable stored label as a placeholder)."""
    p = next((p for p in state.proposals if p.id == key), None)
    if p is None:
        u = next((u for u in state.unusable if u.id == key), None)
        if u is not None:
            return u.placeholder()
    return p


def make_decision(
    state: SampleState,
    key: str,
    action: Action | str,
    *,
    reviewer: str,
    decided: Mapping[str, Decision],
    seconds_on_image: float = 0.0,
    label: str | None = None,
    box: Box | None = None,
    mask: bytes | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Decision:
    """The decision ``action`` makes on ``key`` given the image's current ``decided``
    decisions. A kept mask follows a moved box (:func:`carried`) unless ``mask`` gives the new
    one; the label's attributes carry over, ``attributes`` set on top of them (None clears
    one). ``KeyError`` for an unknown key, ``InvalidLabelError`` for a decision that cannot
    be."""
    action = Action(action)
    if state.size is None:
        raise InvalidLabelError(f"cannot decide on {state.filepath}: {state.error}")
    common: dict[str, Any] = {"reviewer": reviewer, "seconds_on_image": seconds_on_image}
    if action is not Action.REJECTED:
        now = decided.get(key)
        merged = {**((now.attributes or {}) if now is not None and now.keeps_label else {}),
                  **(attributes or {})}
        merged = {k: v for k, v in merged.items() if v is not None}
        if merged:
            common["attributes"] = merged
    sid, size = state.sample_id, state.size
    proposal = proposal_of(state, key)
    if proposal is None:
        added = decided.get(key)
        if added is None or added.action is not Action.ADDED:
            raise KeyError(f"nothing with key {key} on sample {sid}")
        if action is Action.REJECTED:  # deleting a box drawn by hand
            return Decision.clear(sid, key, size, **common)
        assert added.label is not None and added.box is not None
        return Decision.add(sid, size, label or added.label, box or added.box, key=key,
                            mask=mask or carried(added.mask, added.box, box, size), **common)
    if proposal.source == "unusable" and action is not Action.REJECTED:
        unusable = next(u for u in state.unusable if u.id == key)
        raise InvalidLabelError(f"{unusable}; it can only be rejected")
    if action is Action.ACCEPTED:
        return Decision.accept(sid, proposal, size, **common)
    if action is Action.REJECTED:
        return Decision.reject(sid, proposal, size, **common)
    if action is Action.EDITED:
        current = decided.get(key)
        base = current if current is not None and current.box is not None else None
        old_box = base.box if base is not None and base.box is not None else proposal.box
        old_mask = base.mask if base is not None and base.mask is not None else proposal.mask
        # Unmoved: the reviewer's mask if any (the proposal's own is the sync's default).
        if mask is None:
            mask = (base.mask if base is not None else None) if box in (None, old_box) \
                else carried(old_mask, old_box, box, size)
        return Decision.edit(
            sid, proposal, size,
            label or (base.label if base and base.label else proposal.label),
            box or old_box, mask=mask, **common,
        )
    raise InvalidLabelError(f"{action.value} is not a decision on a proposal")


def standing(state: SampleState, decided: Mapping[str, Decision], key: str
             ) -> tuple[Box, bytes | None]:
    """The box and mask (PNG covering the box) of a proposal or drawn box as it stands: the
    reviewer's, else the proposal's; :class:`KeyError` for an unknown key."""
    d = decided.get(key)
    p = proposal_of(state, key)
    if d is not None and d.keeps_label and d.box is not None:
        return d.box, d.mask if d.mask is not None else p.mask if p is not None else None
    if p is not None:
        return p.box, p.mask
    raise KeyError(f"nothing with key {key} on sample {state.sample_id}")


def mask_of(state: SampleState, decided: Mapping[str, Decision], key: str) -> np.ndarray | None:
    """The whole-image mask of a proposal or drawn box as it stands (the reviewer's mask, else
    the proposal's), or ``None`` when it has none."""
    from nblabel.core.images import decode_mask
    from nblabel.core.masks import full_mask

    if state.size is None:
        return None
    box, png = standing(state, decided, key)
    if png is None:
        return None
    return full_mask(np.asarray(decode_mask(png)), box, state.size)


def carried(mask: bytes | None, old: Box, new: Box | None, size: ImageSize) -> bytes | None:
    """A mask kept through a box edit: cut to the moved or resized box (``None`` when nothing
    of it is left)."""
    if mask is None or new is None or new == old:
        return mask
    from nblabel.core.images import decode_mask, encode_mask
    from nblabel.core.masks import recrop

    cut = recrop(np.asarray(decode_mask(mask)), old, new, size)
    return encode_mask(cut) if cut is not None else None
