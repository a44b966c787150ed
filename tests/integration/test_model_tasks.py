"""Ultralytics detect/segment/classify sources, label mapping, uncertainty probes and the Ray
backend, with real models trained from scratch on generated shapes."""

import math

import fiftyone as fo
import numpy as np
import pytest
from PIL import Image

from nblabel.demo.synthetic import make_shapes
from nblabel.preannotation import preannotate
from nblabel.reviewing.editor.session import ReviewSession
from nblabel.sources import EnsembleSource, UltralyticsSource

pytestmark = pytest.mark.slow


@pytest.fixture
def shapes(tmp_path):
    images = make_shapes(tmp_path / "img", 12, seed=31)
    ds = fo.Dataset()
    ds.add_samples([fo.Sample(filepath=str(img.path)) for img in images], progress=False)
    yield ds
    ds.delete()


def test_segmentation_proposals_carry_masks_covering_their_boxes(shapes, segment_model):
    source = UltralyticsSource(segment_model, imgsz=160, conf=0.1)
    assert source.task == "segment"
    report = preannotate(shapes, source, "seg", progress=False)
    assert report.images == 12 and report.proposals > 0 and not report.errors
    dets = [d for s in shapes.iter_samples() for d in s.seg.detections]
    with_mask = [d for d in dets if d.mask is not None]
    assert len(with_mask) == len(dets)
    w, h = 320, 240
    for d in with_mask[:20]:
        bw, bh = round(d.bounding_box[2] * w), round(d.bounding_box[3] * h)
        assert abs(d.mask.shape[1] - bw) <= 1 and abs(d.mask.shape[0] - bh) <= 1
        assert d.mask.any()
    # The review loads them as proposals with masks.
    session = ReviewSession(shapes, field="seg")
    sid = next(s.id for s in shapes.iter_samples() if s.seg.detections)
    state = session.load(sid)
    assert state.proposals and all(p.mask is not None for p in state.proposals)
    session.close()


def test_classifier_stores_a_classification_with_mapped_scores(shapes, classify_model):
    source = UltralyticsSource(classify_model, imgsz=64,
                               label_map={"circle": "round", "square": "angular",
                                          "triangle": "angular"})
    assert source.task == "classify" and source.class_names == ["circle", "square", "triangle"]
    report = preannotate(shapes, source, "kind", progress=False)
    assert report.images == 12 and report.proposals == 12
    assert isinstance(shapes.get_field("kind"), fo.EmbeddedDocumentField)
    for c in shapes.values("kind"):
        assert isinstance(c, fo.Classification) and c.label in {"round", "angular"}
        assert set(c.scores) == {"round", "angular"}
        assert math.isclose(sum(c.scores.values()), 1.0, abs_tol=1e-4)
        assert c.confidence == pytest.approx(max(c.scores.values()))
    session = ReviewSession(shapes, classification_field="kind")
    state = session.load(shapes.first().id)
    assert state.image_label is not None and state.image_label.scores
    session.close()


def test_unmapped_classes_are_dropped_and_counted(shapes, demo_model):
    plain = preannotate(shapes, UltralyticsSource(demo_model, imgsz=160, conf=0.25), "all",
                        progress=False)
    labels = shapes.count_values("all.detections.label")
    assert labels.get("triangle", 0) > 0
    mapped = UltralyticsSource(demo_model, imgsz=160, conf=0.25,
                               label_map={0: "ball", "square": "box"})
    report = preannotate(shapes, mapped, "mapped", progress=False)
    got = shapes.count_values("mapped.detections.label")
    assert set(got) <= {"ball", "box"}
    assert got.get("ball", 0) == labels.get("circle", 0)
    assert report.unmapped["triangle"] == labels["triangle"]
    assert report.proposals == plain.proposals - labels["triangle"]
    assert "of unmapped classes dropped" in str(report) and "triangle" in str(report)


def test_tta_instability_is_higher_for_weak_boxes(shapes, demo_model):
    source = UltralyticsSource(demo_model, imgsz=160, conf=0.05)
    preannotate(shapes, source, "p", tta=True, progress=False)
    confs = shapes.values("p.detections.confidence", unwind=True)
    inst = shapes.values("p.detections.tta_instability", unwind=True)
    assert len(inst) == len(confs) > 0
    assert all(0.0 <= v <= 1.0 for v in inst)
    strong = [v for c, v in zip(confs, inst, strict=True) if c >= 0.7]
    weak = [v for c, v in zip(confs, inst, strict=True) if c < 0.3]
    assert strong and weak
    assert np.mean(strong) < 0.15 and np.mean(strong) + 0.05 < np.mean(weak)


def test_mc_dropout_variance_only_where_the_model_has_dropout(shapes, classify_model,
                                                              demo_model):
    cls = UltralyticsSource(classify_model, imgsz=64)
    preannotate(shapes, cls, "kind", mc_dropout=6, progress=False)
    variances = shapes.values("kind.mc_variance")
    assert all(v is not None and v >= 0 for v in variances)
    assert max(variances) > 0
    # The plain proposals are unchanged by the probe (dropout is off again afterwards).
    again = UltralyticsSource(classify_model, imgsz=64).propose(
        [Image.open(shapes.first().filepath).convert("RGB")])
    assert again[0][0].confidence == pytest.approx(shapes.first().kind.confidence, abs=1e-5)
    det = UltralyticsSource(demo_model, imgsz=160, conf=0.25)
    preannotate(shapes, det, "p", mc_dropout=6, progress=False)
    assert "p.detections.mc_variance" not in shapes.get_field_schema(flat=True)


def test_ensemble_of_classifiers_keeps_agreement(shapes, classify_model):
    a = UltralyticsSource(classify_model, imgsz=64, name="a")
    b = UltralyticsSource(classify_model, imgsz=96, name="b")
    preannotate(shapes, EnsembleSource([a, b]), "kind", progress=False)
    for c in shapes.values("kind"):
        assert c.agreement in (0.5, 1.0) and c.source == "ensemble"


def test_ray_backend_gives_the_same_proposals_as_local(shapes, demo_model, tmp_path):
    ray = pytest.importorskip("ray")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    (bad,) = shapes.add_samples([fo.Sample(filepath=str(broken))])
    source = UltralyticsSource(demo_model, imgsz=160, conf=0.1, label_map={
        "circle": "circle", "square": "square"})
    local = preannotate(shapes, source, "local", batch_size=4, progress=False)
    try:
        remote = preannotate(shapes, source, "ray", batch_size=4, backend="ray",
                             num_workers=2, progress=False)
    finally:
        ray.shutdown()
    assert set(remote.errors) == set(local.errors) == {bad}
    assert remote.proposals == local.proposals > 0
    assert remote.unmapped == local.unmapped and remote.unmapped["triangle"] > 0
    for s in shapes.select_fields(["local", "ray"]).iter_samples():
        if s.id == bad:
            assert s.local is None and s.ray is None
            continue
        a = sorted(s.local.detections, key=lambda d: (d.label, d.bounding_box))
        b = sorted(s.ray.detections, key=lambda d: (d.label, d.bounding_box))
        assert [d.label for d in a] == [d.label for d in b]
        for da, db in zip(a, b, strict=True):
            assert np.allclose(da.bounding_box, db.bounding_box, atol=1e-4)
            assert da.confidence == pytest.approx(db.confidence, abs=1e-4)
