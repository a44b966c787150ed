"""Errors, evaluation patches and decision analytics against a real mongod."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from nblabel.core.labels import Box
from nblabel.curation.analytics import (
    confidence_table,
    decisions_frame,
    effort_per_image,
    plot_calibration,
    suggest_threshold,
)
from nblabel.curation.evaluation import evaluate, mistakenness, proposal_accuracy
from nblabel.curation.queue import build_queue
from nblabel.reviewing.editor.session import ReviewSession
from nblabel.reviewing.image.widget import ReviewWidget

from ..conftest import ARTIFACTS


@pytest.fixture
def reviewed(shapes_dataset, journal):
    """Every image reviewed: true boxes accepted, the spurious box (confidence 0.2) rejected,
    and on the first image the most confident box relabelled (edited) and one box drawn."""
    ds = shapes_dataset
    session = ReviewSession(ds, journal=journal, reviewer="ann")
    edited = None
    for i, sid in enumerate(session.queue):
        state = session.load(sid)
        for j, p in enumerate(state.proposals):
            if p.confidence < 0.25:
                session.decide(state, p.id, "rejected", seconds_on_image=2.0 + i)
            elif i == 0 and j == 0:
                session.decide(state, p.id, "edited", label="star", box=p.box,
                               seconds_on_image=3.0)
                edited = p
            else:
                session.decide(state, p.id, "accepted", seconds_on_image=1.0 + i)
        if i == 0:
            session.add(state, "circle", Box(200, 200, 30, 30), seconds_on_image=5.0)
            session.undo()  # an action, then the box again
            session.add(state, "circle", Box(200, 200, 30, 30), seconds_on_image=6.0)
    session.close()
    return ds, journal, session.queue, edited


def test_decisions_frame_from_journal_and_dataset_agree(reviewed):
    ds, journal, _, edited = reviewed
    from_journal = decisions_frame(journal, ds.name)
    final = from_journal[from_journal["final"] & (from_journal["action"] != "cleared")]
    from_ds = decisions_frame(ds)
    key = ["sample_id", "key", "action", "label"]
    assert sorted(map(tuple, final[key].astype(str).values)) == sorted(
        map(tuple, from_ds[key].astype(str).values))
    n_props = ds.count("predictions.detections")
    assert (final["action"] != "added").sum() == n_props
    row = final[final["key"] == edited.id].iloc[0]
    assert row["action"] == "edited" and row["proposal_label"] == edited.label
    assert row["box_iou"] == pytest.approx(1.0)
    assert set(from_ds["reviewer"]) == {"ann"}
    assert str(from_ds["decided_at"].dt.tz) == "UTC"


def test_confidence_table_threshold_and_effort(reviewed):
    ds, journal, queue, _ = reviewed
    df = decisions_frame(journal, ds.name)
    table = confidence_table(df, bins=5)
    low = table.loc[table.index[0]]  # [0, 0.2]: the spurious boxes (confidence 0.2)
    assert low["n"] == len(queue) and low["rejected"] == 1.0
    high = table[table["n"] > 0].iloc[-1]
    assert high["accepted"] + high["edited"] == 1.0
    assert table["n"].sum() == ds.count("predictions.detections")

    conf = sorted(ds.values("predictions.detections.confidence", unwind=True), reverse=True)
    wrong_at = {c: 0 for c in conf}
    wrong_at[0.9] = 1  # the edited box
    # The lowest cut whose proposals above it were accepted unchanged >= 85 % of the time.
    want = min(c for c in set(conf) if c > 0.2 and 1 - sum(
        w for k, w in wrong_at.items() if k >= c) / sum(1 for k in conf if k >= c) >= 0.85)
    s = suggest_threshold(df, target_precision=0.85, min_support=3)
    n_above = sum(1 for k in conf if k >= want)
    assert s.threshold == pytest.approx(want) and s.n == n_above
    assert s.precision == pytest.approx((n_above - 1) / n_above)
    assert s.coverage == pytest.approx(n_above / len(conf))
    assert suggest_threshold(df, 1.0, min_support=1000).threshold is None

    fig = plot_calibration(df, bins=5)
    assert isinstance(fig, Figure) and len(fig.axes[0].lines) == 3
    fig.savefig(ARTIFACTS / "calibration.png")

    effort = effort_per_image(df).set_index("sample_id")
    first = effort.loc[queue[0]]
    # decisions on every proposal + add, undo (a cleared decision), add again
    assert first["actions"] == len(ds[queue[0]].predictions.detections) + 3
    assert first["seconds"] == 6.0 and first["added"] == 1 and first["edited"] == 1
    assert effort.loc[queue[1], "added"] == 0


def test_evaluation_errors_accuracy_and_mistakenness(reviewed):
    ds, _, queue, _ = reviewed
    results = evaluate(ds)
    assert results.metrics()["support"] == ds.count("ground_truth.detections")
    fp, fn = ds.values("nblabel_eval_fp"), ds.values("nblabel_eval_fn")
    by_id = dict(zip(ds.values("id"), zip(fp, fn, strict=True), strict=True))
    # The spurious box is a false positive everywhere; the relabelled box is a FP (wrong
    # class) and its truth a miss, and the drawn box another miss.
    assert by_id[queue[0]] == (2, 2)
    assert all(by_id[s] == (1, 0) for s in queue[1:])
    assert build_queue(ds, "errors", exploration=0)[0] == queue[0]

    acc = proposal_accuracy(ds, iou=0.5)
    n_truth = ds.count("ground_truth.detections")
    assert (acc.tp, acc.fp, acc.fn) == (n_truth - 2, len(queue) + 1, 2)
    assert acc.images_right == 0 and acc.image_accuracy == 0.0
    shown = proposal_accuracy(ds, iou=0.5, min_confidence=0.25)
    assert shown.fp == 1 and shown.images_right == len(queue) - 1
    assert shown.box_accuracy == pytest.approx(shown.tp / (shown.tp + 3))

    mistakenness(ds)
    gt = ds.values("ground_truth.detections", unwind=True)
    worst = max(gt, key=lambda d: d["mistakenness"] if d.has_field("mistakenness") else -1)
    assert worst.label == "star"  # the relabelled box disagrees with a confident proposal
    assert np.all(np.asarray(ds.values("mistakenness"), dtype=float) >= 0)


def test_evaluation_patches_review_in_widget(reviewed):
    ds, journal, queue, edited = reviewed
    evaluate(ds)
    from fiftyone import ViewField as F

    patches = ds.to_evaluation_patches("nblabel_eval").match(F("type") != "tp")
    session = ReviewSession(patches, journal=journal, reviewer="ann")
    # One queue entry per image with errors (patch order), proposals of the whole image.
    assert session.queue == list(dict.fromkeys(patches.values("sample_id")))
    widget = ReviewWidget(session)
    assert widget.sample_id == queue[0]
    focus = {row["key"] for row in widget.boxes if row.get("focus")}
    fps = {pid for sid, dets in zip(*patches.values(["sample_id", "predictions"]), strict=True)
           if sid == queue[0] and dets is not None for pid in (d.id for d in dets.detections)}
    assert focus == fps and edited.id in focus
    assert "false positive" in widget.message and "missed" in widget.message
    assert {row["label"] for row in widget.reference} == {"circle", "star"}
    assert all(row["kind"] == "missed" for row in widget.reference)
    widget.close()


def test_any_view_filtered_tagged_or_saved(shapes_dataset, journal):
    from fiftyone import ViewField as F

    ds = shapes_dataset
    ds.take(3, seed=1).tag_samples("todo")
    confident = ds.match_tags("todo").filter_labels("predictions", F("confidence") >= 0.5)
    ds.save_view("todo-confident", confident)
    view = ds.load_saved_view("todo-confident")
    session = ReviewSession(view, journal=journal, reviewer="ann")
    assert session.queue == view.values("id")
    state = session.load(session.queue[0])
    assert state.proposals and all(p.confidence >= 0.5 for p in state.proposals)
    for p in state.proposals:
        session.decide(state, p.id, "accepted")
    session.flush()
    # Decided proposals land; the hidden low-confidence one stays open, so not "reviewed".
    ds.reload()
    sample = ds[state.sample_id]
    decided = {d.id for d in sample.predictions.detections
               if d.has_field("review") and d["review"] == "accepted"}
    assert decided == {p.id for p in state.proposals}
    assert "reviewed" not in sample.tags
    assert len(sample.ground_truth.detections) == len(state.proposals)
    session.close()
