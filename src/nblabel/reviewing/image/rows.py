"""The rows the widget shows: one per box of an image, in reading order, and their wire form.

Python decides what the browser displays: each row carries its status (from the journal), its
visibility at the threshold and its source's measured floor (``core.rules.shown``) and whether
a patches view points at it; the
order is reading order (top to bottom in bands about one box high, left to right within a band),
so Tab walks a dense image the way a person scans it, and "the next pending box" after a decision
is the next one in that order (``next_pending``, the one rule the widget uses).

On the wire (``encode``) rows go column by column: boxes, confidences, status codes and label
indices as binary buffers, keys and label names as JSON lists: 10,000 boxes are about 0.5 MB and
decode in milliseconds. ``js/src/types.ts`` declares the same format (``RowsWire``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from nblabel.core import labels
from nblabel.core.labels import Action, Box, Decision
from nblabel.core.rules import shown
from nblabel.reviewing.editor.loading import SampleState

__all__ = ["FLAG_FOCUS", "FLAG_PROPOSAL", "FLAG_VISIBLE", "STATUSES", "build_rows", "encode",
           "first_selection", "is_open", "next_pending", "offset", "reading_order", "rounded_box"]

#: Status codes on the wire: the index in this tuple (``STATUSES`` in types.ts).
STATUSES = labels.STATUSES
FLAG_VISIBLE = 1
FLAG_FOCUS = 2
FLAG_PROPOSAL = 4

Row = dict[str, Any]


def reading_order(boxes: Sequence[Sequence[float]]) -> list[int]:
    """Indices of ``boxes`` ([x, y, w, h]) in reading order: bands as high as the median box,
    top to bottom; left to right by centre within a band."""
    if not boxes:
        return []
    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    band = max(float(np.median(arr[:, 3])), 1.0)
    cy = arr[:, 1] + arr[:, 3] / 2
    cx = arr[:, 0] + arr[:, 2] / 2
    return [int(i) for i in np.lexsort((cx, np.floor(cy / band)))]


def rounded_box(box: Box) -> list[float]:
    """A box as sent to the browser: ``[x, y, w, h]`` in pixels, to 0.01 px."""
    return [round(v, 2) for v in box.as_list()]


def proposal_row(p: Any, d: Decision | None, threshold: float, focus: bool,
                 floors: Mapping[str, float] | None = None) -> Row:
    box = d.box if d is not None and d.box is not None else p.box
    return {
        "key": p.id, "proposal_id": p.id,
        "label": d.label if d is not None and d.label else p.label,
        "box": rounded_box(box), "original_box": rounded_box(p.box), "original_label": p.label,
        "confidence": p.confidence,
        "status": d.action.value if d is not None else "pending",
        "visible": shown(p.confidence, p.source, threshold, floors),
        "mask": d.mask if d is not None and d.mask is not None else p.mask,
        "focus": focus, "unusable": None,
        "attributes": dict(d.attributes) if d is not None and d.attributes else None,
    }


def build_rows(state: SampleState, decided: Mapping[str, Decision], threshold: float,
               focus: Iterable[str] = (), order: Sequence[int] | None = None,
               floors: Mapping[str, float] | None = None) -> list[Row]:
    """Every row of ``state``: proposals in reading order (``order``, computed when None), then
    unusable stored labels (rejectable, listed with their reason), then boxes drawn by hand."""
    focus = set(focus)
    proposals = state.proposals
    if order is None:
        order = reading_order([p.box.as_list() for p in proposals])
    rows = [proposal_row(proposals[i], decided.get(proposals[i].id), threshold,
                         proposals[i].id in focus, floors) for i in order]
    for u in state.unusable:
        d = decided.get(u.id)
        rows.append({
            "key": u.id, "proposal_id": u.id, "label": u.label or "(unusable)",
            "box": [0.0, 0.0, 0.0, 0.0], "original_box": None, "original_label": u.label,
            "confidence": None, "status": d.action.value if d is not None else "pending",
            "visible": True, "mask": None, "focus": False, "unusable": u.reason,
        })
    for d in decided.values():
        if d.kind == "box" and d.action is Action.ADDED and d.box is not None:
            rows.append(added_row(d))
    return rows


def added_row(d: Decision) -> Row:
    assert d.box is not None
    return {
        "key": d.key, "proposal_id": None, "label": d.label, "box": rounded_box(d.box),
        "original_box": None, "original_label": None, "confidence": None, "status": "added",
        "visible": True, "mask": d.mask, "focus": False, "unusable": None,
        "attributes": dict(d.attributes) if d.attributes else None,
    }


def is_open(row: Row) -> bool:
    """A row still to decide: pending, shown at the threshold, and decidable (an unusable
    stored label is only rejected, on the reviewer's own initiative)."""
    return row["status"] == "pending" and bool(row["visible"]) and not row["unusable"]


def first_selection(rows: Sequence[Row]) -> str:
    """The box selected when an image opens: a box the patches view points at, else the first
    open box (:func:`is_open`), else the first box."""
    for row in rows:
        if row["focus"]:
            return str(row["key"])
    first = next_pending(rows, None)
    return first if first is not None else str(rows[0]["key"]) if rows else ""


def next_pending(rows: Sequence[Row], after: str | None) -> str | None:
    """The next open box (:func:`is_open`) after ``after`` in reading order, wrapping (from the
    start when ``after`` is None); ``after`` itself when none is left."""
    n = len(rows)
    start = -1 if after is None else next((i for i, r in enumerate(rows) if r["key"] == after),
                                          -1)
    for k in range(1, n + 1):
        row = rows[(start + k) % n]
        if is_open(row):
            return str(row["key"])
    return after


def encode(rows: Sequence[Row], first_buffer: int = 0) -> tuple[dict[str, Any], list[bytes]]:
    """Rows in their wire form (``RowsWire`` in js/src/types.ts) and the binary buffers it
    refers to, numbered from ``first_buffer`` (a message's buffers may start with an image)."""
    n = len(rows)
    labels: dict[str, int] = {}

    def label_index(name: str | None) -> int:
        return labels.setdefault(str(name), len(labels))

    nan = math.nan
    box = np.array([r["box"] for r in rows], dtype=np.float32).reshape(n, 4)
    orig = np.array([r["original_box"] or (nan, nan, nan, nan) for r in rows],
                    dtype=np.float32).reshape(n, 4)
    conf = np.array([nan if r["confidence"] is None else r["confidence"] for r in rows],
                    dtype=np.float32)
    codes = np.zeros((n, 2), dtype=np.uint8)
    lab = np.zeros((n, 2), dtype=np.uint16)
    unusable: dict[str, str] = {}
    attrs: dict[str, dict[str, Any]] = {}
    masks: dict[str, int] = {}
    buffers: list[bytes] = []
    base = first_buffer + 5
    for i, r in enumerate(rows):
        codes[i, 0] = STATUSES.index(r["status"])
        codes[i, 1] = ((FLAG_VISIBLE if r["visible"] else 0) | (FLAG_FOCUS if r["focus"] else 0)
                       | (FLAG_PROPOSAL if r["proposal_id"] else 0))
        lab[i, 0] = label_index(r["label"])
        lab[i, 1] = 0 if r["original_label"] is None else label_index(r["original_label"]) + 1
        if r.get("unusable"):
            unusable[str(i)] = str(r["unusable"])
        if r.get("attributes"):
            attrs[str(i)] = r["attributes"]
        if r.get("mask") is not None:
            masks[str(i)] = base + len(buffers)
            buffers.append(r["mask"])
    wire = {
        "n": n, "keys": [str(r["key"]) for r in rows], "labels": list(labels),
        "box": first_buffer, "original_box": first_buffer + 1, "confidence": first_buffer + 2,
        "codes": first_buffer + 3, "label": first_buffer + 4,
        "unusable": unusable, "masks": masks, "attributes": attrs,
    }
    return wire, [box.tobytes(), orig.tobytes(), conf.tobytes(), codes.tobytes(), lab.tobytes(),
                  *buffers]


def offset(wire: dict[str, Any], k: int) -> dict[str, Any]:
    """``wire`` with its buffer indices moved by ``k`` (buffers placed after ``k`` others)."""
    out = dict(wire)
    for name in ("box", "original_box", "confidence", "codes", "label"):
        out[name] = wire[name] + k
    out["masks"] = {i: b + k for i, b in wire["masks"].items()}
    return out
