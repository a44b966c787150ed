"""Badly stored labels (written by another tool) are named, not fatal: the review, the queues
and the analytics go on, and the reviewer can reject them."""

from __future__ import annotations

import logging
import math

import pytest

from nblabel.curation.analytics import decisions_frame
from nblabel.curation.queue import build_queue
from nblabel.reviewing.editor.session import ReviewSession
from nblabel.reviewing.image.widget import ReviewWidget
from nblabel.store import shim

pytestmark = pytest.mark.fiftyone


def _corrupt(ds):
    """Four kinds of bad stored proposal on the first sample, one on the second."""
    coll = shim.sample_collection(ds)
    first, second = ds.values("id")[:2]
    from bson import ObjectId

    doc = coll.find_one({"_id": ObjectId(first)})
    n = len(doc["predictions"]["detections"])
    assert n >= 2
    coll.update_one({"_id": ObjectId(first)}, {"$set": {
        "predictions.detections.0.confidence": "high",
        "predictions.detections.1.bounding_box": [0.1, 0.1, 0.2],
    }})
    coll.update_one({"_id": ObjectId(first)}, {"$push": {"predictions.detections": {"$each": [
        {"_id": ObjectId(), "_cls": "Detection", "tags": [], "label": "",
         "bounding_box": [0.1, 0.1, 0.1, 0.1], "confidence": 0.5},
        {"_id": ObjectId(), "_cls": "Detection", "tags": [], "label": "square",
         "bounding_box": [0.1, 0.1, 0.1, 0.1], "confidence": math.nan},
    ]}}})
    coll.update_one({"_id": ObjectId(second)},
                    {"$set": {"predictions.detections.0.confidence": "low"}})
    return first, second


def test_unusable_proposals_are_shown_with_the_reason_and_can_be_rejected(shapes_dataset,
                                                                          tmp_path, caplog):
    ds = shapes_dataset
    first, second = _corrupt(ds)
    session = ReviewSession(ds, journal=tmp_path / "j.sqlite")
    state = session.load(first)
    reasons = {u.reason for u in state.unusable}
    assert len(state.unusable) == 4
    assert any("'high'" in r and "confidence" in r for r in reasons)
    assert any("4 numbers" in r for r in reasons)
    assert any("label" in r for r in reasons)
    assert any("nan" in r.lower() for r in reasons)
    assert all(first in str(u) and "'predictions'" in str(u) for u in state.unusable)

    widget = ReviewWidget(session)
    assert widget.sample_id == first
    assert "unusable proposal" in widget.message and first in widget.message
    bad_rows = [r for r in widget.boxes if r.get("unusable")]
    assert len(bad_rows) == 4
    # Accepting one from the browser is refused, with the reason.
    widget.dispatch({"kind": "decide", "sample_id": first,
                      "keys": [bad_rows[0]["key"]], "action": "accepted"})
    assert "not saved" in widget.message and "only be rejected" in widget.message
    for row in widget.boxes:
        widget.decide(row["key"], "rejected" if row.get("unusable") else "accepted")
    assert session.progress.is_reviewed(first)  # every stored proposal decided, bad ones rejected
    widget.go(1)  # navigation goes on
    assert widget.sample_id == second
    session.flush()
    # (ds.reload() would reload the Sample objects this process holds: FiftyOne cannot)
    assert "reviewed" in ds.select(first).values("tags")[0]

    # Queues and analytics go on, naming what they ignored.
    with caplog.at_level(logging.WARNING):
        assert len(build_queue(ds, "uncertainty", exploration=0)) == len(ds)
    assert "not numbers" in caplog.text and second in caplog.text
    assert len(build_queue(ds, "difficulty", exploration=0)) == len(ds)
    frame = decisions_frame(ds)
    assert (frame["action"] == "rejected").sum() >= 4
    widget.close()
