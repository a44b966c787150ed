"""The learning loop against a real mongod, with real (tiny) ultralytics training."""

from __future__ import annotations

import uuid
from pathlib import Path

import fiftyone as fo
import pytest

from nblabel.learning import (
    LearningLoop,
    pseudo_threshold,
    select_pseudo_labels,
    spot_check_precision,
)
from nblabel.learning.simulate import simulate_review
from nblabel.reviewing.editor.session import ReviewSession
from nblabel.reviewing.image.widget import ReviewWidget
from nblabel.store.schema import MODEL_ROUND_FIELD, PSEUDO_FIELD
from nblabel.store.sync import REVIEWED_TAG


@pytest.fixture
def loop_dataset(tmp_path: Path, demo_model: Path):
    from nblabel.demo.synthetic import make_shapes

    images = make_shapes(tmp_path / "images", 24, seed=8, max_objects=5)
    ds = fo.Dataset(f"loop-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(i.path)) for i in images], progress=False)
    truth = dict(zip(ds.values("id"), (i.objects for i in images), strict=True))
    loop = LearningLoop(ds, demo_model, tmp_path / "models", imgsz=128, epochs=1, batch=8)
    loop.propose(ds.values("id"))
    yield ds, truth, loop
    if fo.dataset_exists(ds.name):
        ds.delete()


def _reviewed_session(ds, journal, truth, n):
    """A session in which the simulated reviewer has reviewed the first ``n`` images."""
    ids = ds.values("id")
    session = ReviewSession(ds, journal=journal, reviewer="sim", queue=ids)
    simulate_review(session, ids[:n], truth)
    session.flush()
    return ids, session


def test_fine_tune_keeps_versions_and_proposes_on_unseen(loop_dataset, journal):
    ds, truth, loop = loop_dataset
    ids, session = _reviewed_session(ds, journal, truth, 10)
    assert len(ds.match_tags(REVIEWED_TAG)) == 10
    before = dict(zip(ids, ds.values("predictions.detections.id"), strict=True))

    version, unseen = loop.run_round()
    assert version.round == 1 and Path(version.weights).exists()
    assert version.train_images + version.val_images == 10 and version.val_images >= 1
    assert set(version.metrics) == {"map50", "map50_95", "precision", "recall"}
    assert unseen == ids[10:]
    rounds = dict(zip(ids, ds.values(MODEL_ROUND_FIELD), strict=True))
    after = dict(zip(ids, ds.values("predictions.detections.id"), strict=True))
    assert all(rounds[s] == 1 for s in ids[10:])
    # New proposals (new ids) wherever either model proposed something.
    assert all(after[s] != before[s] for s in ids[10:] if before[s] or after[s])
    assert sum(1 for s in ids[10:] if after[s]) >= len(ids[10:]) // 2
    # Reviewed images keep the proposals their decisions refer to.
    assert all(rounds[s] == 0 and after[s] == before[s] for s in ids[:10])
    # Versions live in the dataset: a new loop object (a later session) sees them.
    again = LearningLoop(ds, loop.base_model, loop.workdir)
    assert [v.round for v in again.versions] == [1]
    assert again.current_weights == version.weights
    session.close()


def test_background_round_updates_the_widget(loop_dataset, journal):
    ds, truth, loop = loop_dataset
    _, session = _reviewed_session(ds, journal, truth, 8)
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
    ids, session = _reviewed_session(ds, journal, truth, 12)
    session.close()
    ds.compute_metadata()
    assert pseudo_threshold(ds, 0.9, min_support=10_000) is None
    threshold = pseudo_threshold(ds, 0.8, min_support=5)
    assert threshold is not None and 0 < threshold <= 1
    # Unreviewed images with known proposals: the true boxes at 0.9 (confident), the same
    # plus a box at 0.3 (uncertain), or the true boxes at 0.15 only (nothing confident).
    sizes = dict(zip(ids, zip(ds.values("metadata.width"), ds.values("metadata.height"),
                              strict=True), strict=True))
    kinds = {}
    with_objects = [s for s in ids[12:] if truth[s]]
    for k, sid in enumerate(with_objects):
        w, h = sizes[sid]
        kind = ("confident", "uncertain", "unsure")[k % 3]
        kinds[sid] = kind
        conf = 0.15 if kind == "unsure" else 0.9
        dets = [fo.Detection(label=label, bounding_box=[box.x / w, box.y / h, box.w / w,
                                                        box.h / h], confidence=conf)
                for label, box in truth[sid]]
        if kind == "uncertain":
            dets.append(fo.Detection(label="circle", bounding_box=[0.0, 0.0, 0.1, 0.1],
                                     confidence=0.3))
        ds.select([sid]).set_values("predictions", [fo.Detections(detections=dets)])
    pseudo = select_pseudo_labels(ds, 0.5, low=0.2, spot_check=0.5, seed=1)
    expected = [s for s in with_objects if kinds[s] == "confident"]
    assert expected and set(expected) <= set(pseudo.sample_ids)
    assert not {s for s in with_objects if kinds[s] != "confident"} & set(pseudo.sample_ids)
    assert set(pseudo.sample_ids) <= set(ids[12:])
    confs = dict(zip(ids, ds.values("predictions.detections.confidence"), strict=True))
    for sid in ids[12:]:
        uncertain = any(0.2 <= c < 0.5 for c in confs[sid] or [])
        confident = any(c >= 0.5 for c in confs[sid] or [])
        assert (sid in pseudo.sample_ids) == (confident and not uncertain)
    labels = dict(zip(ids, ds.values(PSEUDO_FIELD), strict=True))
    assert sum(len(labels[s].detections) for s in pseudo.sample_ids) == pseudo.labels
    assert all(d.confidence >= 0.5 for s in pseudo.sample_ids for d in labels[s].detections)
    assert len(pseudo.spot_check_ids) == round(len(pseudo.sample_ids) * 0.5) >= 1
    assert set(pseudo.spot_check_ids) <= set(pseudo.sample_ids)
    # Spot-check: the reviewer rejects one pseudo-label, accepts the rest.
    assert spot_check_precision(ds, pseudo) is None
    checker = ReviewSession(ds, journal=journal, reviewer="sim", queue=pseudo.spot_check_ids)
    confident = []
    for sid in pseudo.spot_check_ids:
        state = checker.load(sid)
        confident += [(state, p) for p in state.proposals if p.confidence >= 0.5]
    for i, (state, p) in enumerate(confident):
        checker.decide(state, p.id, "rejected" if i == 0 else "accepted")
    checker.flush()
    assert spot_check_precision(ds, pseudo) == pytest.approx(1 - 1 / len(confident))
    checker.close()
    # Pseudo-labelled images train (training split only).
    version = loop.fine_tune(pseudo)
    reviewed_now = set(ds.match_tags(REVIEWED_TAG).values("id"))
    assert set(pseudo.spot_check_ids) <= reviewed_now  # checked: they train as reviewed images
    assert version.pseudo_images == len(set(pseudo.sample_ids) - reviewed_now) >= 1


def test_bf16_forward_runs_convolutions_in_bfloat16_and_the_loss_in_float32(demo_model):
    import torch
    from ultralytics import YOLO
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.tasks import BaseModel

    from nblabel.learning.training import _bf16_forward, train_ultralytics

    model = YOLO(str(demo_model)).model.float().train()
    model.args = get_cfg()  # the loss's gains, as the trainer sets them
    for p in model.parameters():
        p.requires_grad_(True)
    conv_dtypes: list[torch.dtype] = []
    model.model[0].register_forward_hook(lambda m, i, out: conv_dtypes.append(out.dtype))
    batch = {"img": torch.rand(2, 3, 64, 64), "batch_idx": torch.tensor([0.0]),
             "cls": torch.tensor([[1.0]]), "bboxes": torch.tensor([[0.5, 0.5, 0.3, 0.3]])}
    plain = BaseModel.loss
    with _bf16_forward():
        loss, _ = model.loss(batch)
        assert BaseModel.loss is not plain
    assert BaseModel.loss is plain  # restored
    loss.sum().backward()
    assert conv_dtypes == [torch.bfloat16] and loss.dtype == torch.float32
    assert all(p.grad is not None and p.grad.dtype == torch.float32
               for p in model.model[0].parameters())
    model.loss(batch)
    assert conv_dtypes[-1] == torch.float32  # outside: float32 again
    with pytest.raises(ValueError, match="precision"):
        train_ultralytics("data.yaml", "out.pt", precision="fp16")


def test_proposals_at_several_sizes_are_fused(loop_dataset):
    ds, _, loop = loop_dataset
    ids = ds.values("id")[:6]
    fused = LearningLoop(ds, loop.base_model, loop.workdir, propose_imgsz=[96, 160],
                         agnostic_nms=True, field="fused")
    report = fused.propose(ids)
    assert report.images == 6 and report.proposals > 0
    dets = [d for dets in ds.select(ids).values("fused.detections") if dets for d in dets]
    # One weighted-box-fusion cluster per box, with the share of sizes that saw it.
    agreements = [d["agreement"] for d in dets]
    assert set(agreements) <= {0.5, 1.0} and 1.0 in agreements
    assert len(dets) == report.proposals
