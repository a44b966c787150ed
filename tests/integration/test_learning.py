"""The learning loop against a real mongod, with real (tiny) ultralytics training."""

from __future__ import annotations

import uuid
from pathlib import Path

import fiftyone as fo
import pytest

from nblabel.fiftyone_sync import REVIEWED_TAG
from nblabel.learning import (
    MODEL_ROUND_FIELD,
    PSEUDO_FIELD,
    LearningLoop,
    pseudo_threshold,
    select_pseudo_labels,
)
from nblabel.session import ReviewSession
from nblabel.simulate import SimulatedReviewer
from nblabel.widget import ReviewWidget


@pytest.fixture
def loop_dataset(tmp_path: Path, demo_model: Path):
    from nblabel.synthetic import make_shapes

    images = make_shapes(tmp_path / "images", 24, seed=8, max_objects=5)
    ds = fo.Dataset(f"loop-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(i.path)) for i in images], progress=False)
    truth = dict(zip(ds.values("id"), (i.objects for i in images), strict=True))
    loop = LearningLoop(ds, demo_model, tmp_path / "models", imgsz=128, epochs=1, batch=8)
    loop.propose(ds.values("id"))
    yield ds, truth, loop
    if fo.dataset_exists(ds.name):
        ds.delete()


def _review(session, sample_ids, truth):
    reviewer = SimulatedReviewer()
    for sid in sample_ids:
        state = session.load(sid)
        review = reviewer.review(state.proposals, truth[sid])
        for p in review.accepted:
            session.decide(state, p.id, "accepted")
        for p in review.rejected:
            session.decide(state, p.id, "rejected")
        for p, label, box in review.edited:
            session.decide(state, p.id, "edited", label=label, box=box)
        for label, box in review.drawn:
            session.add(state, label, box)
        session.complete(sid)
    session.flush()


def test_fine_tune_keeps_versions_and_proposes_on_unseen(loop_dataset, journal):
    ds, truth, loop = loop_dataset
    ids = ds.values("id")
    session = ReviewSession(ds, journal=journal, reviewer="sim", queue=ids)
    _review(session, ids[:10], truth)
    assert len(ds.match_tags(REVIEWED_TAG)) == 10
    before = dict(zip(ids, ds.values("predictions.detections.id"), strict=True))

    version, unseen = loop.run_round()
    assert version.round == 1 and Path(version.weights).exists()
    assert version.train_images + version.val_images == 10 and version.val_images >= 1
    assert set(version.metrics) == {"map50", "map50_95", "precision", "recall"}
    assert unseen == ids[10:]
    rounds = dict(zip(ids, ds.values(MODEL_ROUND_FIELD), strict=True))
    after = dict(zip(ids, ds.values("predictions.detections.id"), strict=True))
    assert all(rounds[s] == 1 and after[s] != before[s] for s in ids[10:])
    # Reviewed images keep the proposals their decisions refer to.
    assert all(rounds[s] == 0 and after[s] == before[s] for s in ids[:10])
    # Versions live in the dataset: a new loop object (a later session) sees them.
    again = LearningLoop(ds, loop.base_model, loop.workdir)
    assert [v.round for v in again.versions] == [1]
    assert again.current_weights == version.weights
    session.close()


def test_background_round_updates_the_widget(loop_dataset, journal):
    ds, truth, loop = loop_dataset
    ids = ds.values("id")
    session = ReviewSession(ds, journal=journal, reviewer="sim", queue=ids)
    _review(session, ids[:8], truth)
    widget = ReviewWidget(session, start=8)
    shown = widget.sample_id
    shown_boxes = widget.boxes
    future = loop.start_round(widget)
    assert "training model round 1" in widget.notice
    version, unseen = future.result(timeout=600)
    assert shown not in unseen  # the image on screen keeps its proposals
    assert widget.boxes == shown_boxes
    assert widget.notice.startswith(f"model round {version.round} ready")
    widget.go(1)  # the next image shows the new model's proposals
    ds.reload()
    new_ids = {d.id for d in (ds[widget.sample_id].predictions.detections or [])}
    assert {row["key"] for row in widget.boxes if row["proposal_id"]} == new_ids
    widget.close()


def test_pseudo_labels_from_analytics_threshold(loop_dataset, journal):
    ds, truth, loop = loop_dataset
    ids = ds.values("id")
    session = ReviewSession(ds, journal=journal, reviewer="sim", queue=ids)
    _review(session, ids[:12], truth)
    session.close()
    assert pseudo_threshold(ds, 0.9, min_support=10_000) is None
    threshold = pseudo_threshold(ds, 0.8, min_support=5)
    assert threshold is not None and 0 < threshold <= 1
    pseudo = select_pseudo_labels(ds, 0.5, low=0.2, spot_check=0.5, seed=1)
    assert set(pseudo.sample_ids) <= set(ids[12:])
    confs = dict(zip(ids, ds.values("predictions.detections.confidence"), strict=True))
    for sid in ids[12:]:
        uncertain = any(0.2 <= c < 0.5 for c in confs[sid] or [])
        confident = any(c >= 0.5 for c in confs[sid] or [])
        assert (sid in pseudo.sample_ids) == (confident and not uncertain)
    labels = dict(zip(ids, ds.values(PSEUDO_FIELD), strict=True))
    assert sum(len(labels[s].detections) for s in pseudo.sample_ids) == pseudo.labels
    assert all(d.confidence >= 0.5 for s in pseudo.sample_ids for d in labels[s].detections)
    assert len(pseudo.spot_check_ids) == round(len(pseudo.sample_ids) * 0.5)
    assert set(pseudo.spot_check_ids) <= set(pseudo.sample_ids)
    # Pseudo-labelled images train (training split only).
    version = loop.fine_tune(pseudo)
    assert version.pseudo_images == len(pseudo.sample_ids)
