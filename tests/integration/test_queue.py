"""Review queues over a real FiftyOne dataset."""

import fiftyone as fo
import pytest

import nblabel
from nblabel.curation.queue import build_queue, save_queue
from nblabel.curation.uncertainty import DIFFICULTY_FIELD, compute_uncertainty


@pytest.fixture
def confidences_dataset(tmp_path):
    from nblabel.demo.synthetic import make_shapes

    images = make_shapes(tmp_path / "img", 6, seed=31)
    plan = {  # sample index -> (labels, confidences)
        0: (["circle", "circle"], [0.95, 0.9]),
        1: (["square"], [0.3]),
        2: (["circle", "triangle"], [0.92, 0.45]),
        3: (["circle"], [0.97]),
        4: (["square", "square"], [0.6, 0.15]),
        5: (["circle"], [0.85]),
    }
    ds = fo.Dataset()
    ds.add_samples([
        fo.Sample(filepath=str(img.path), predictions=fo.Detections(detections=[
            fo.Detection(label=label, bounding_box=[0.1 + 0.1 * k, 0.1, 0.1, 0.1],
                         confidence=c)
            for k, (label, c) in enumerate(zip(*plan[i], strict=True))]))
        for i, img in enumerate(images)])
    yield ds
    ds.delete()


def test_difficulty_and_uncertainty_orders(confidences_dataset):
    ds = confidences_dataset
    ids = ds.values("id")
    q = build_queue(ds, "difficulty", exploration=0)
    # Shown weak boxes may be wrong, a hidden box near the 0.25 threshold may be a missed
    # object: image 1 (0.3 alone), 4 (0.6 and a hidden 0.15), 2 (0.92 and 0.45); 3 is easiest.
    assert q[:3] == [ids[1], ids[4], ids[2]] and q[-1] == ids[3]
    assert ds.count("predictions.detections.entropy") == ds.count("predictions.detections")
    assert ds.bounds(DIFFICULTY_FIELD)[1] <= 1
    u = build_queue(ds, "uncertainty", exploration=0)
    assert u[:3] == [ids[2], ids[4], ids[1]]


def test_class_balanced_alternates_classes(confidences_dataset):
    ds = confidences_dataset
    ids = ds.values("id")
    q = build_queue(ds, "class_balanced", exploration=0)
    main = {ids[i]: c for i, c in enumerate(
        ["circle", "square", "circle", "circle", "square", "circle"])}
    assert [main[s] for s in q[:4]] == ["square", "circle", "square", "circle"]


def test_errors_first_needs_evaluation_and_uses_it(confidences_dataset):
    ds = confidences_dataset
    with pytest.raises(ValueError, match=r"no evaluation fields .*evaluate\(view, eval_key='ev'"):
        build_queue(ds, "errors", eval_key="ev")
    ids = ds.values("id")
    ds.set_values("truth", {ids[5]: fo.Detections(detections=[
        fo.Detection(label="square", bounding_box=[0.6, 0.6, 0.2, 0.2])])}, key_field="id")
    ds.evaluate_detections("predictions", gt_field="truth", eval_key="ev")
    q = build_queue(ds, "errors", eval_key="ev", exploration=0)
    errors = dict(zip(ds.values("id"), [a + b for a, b in zip(
        ds.values("ev_fp"), ds.values("ev_fn"), strict=True)], strict=True))
    counts = [errors[s] for s in q]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    assert errors[ids[5]] == 2, "one false positive and one miss"


def test_saved_queue_and_review_by_ordering_name(confidences_dataset, journal):
    ds = confidences_dataset
    q = build_queue(ds, "random", seed=1, exploration=0)
    view = save_queue(ds, "to-review", q)
    assert ds.load_saved_view("to-review").values("id") == q == view.values("id")
    w = nblabel.review(ds, queue="difficulty", journal=journal)
    assert w.session.queue[0] in set(build_queue(ds, "difficulty", exploration=0)[:2])
    with pytest.raises(ValueError, match="unknown ordering"):
        build_queue(ds, "smart")


def test_other_models_give_agreement_disagreement_and_missed_object_risk(confidences_dataset):
    ds = confidences_dataset
    ids = ds.values("id")
    # A second model agrees on image 0, misses image 3's box and sees an extra box on image 5.
    second = {}
    for sid, dets in zip(ids, ds.values("predictions"), strict=True):
        second[sid] = fo.Detections(detections=[d.copy() for d in dets.detections])
    second[ids[3]] = fo.Detections()
    second[ids[5]].detections.append(
        fo.Detection(label="square", bounding_box=[0.6, 0.6, 0.2, 0.2], confidence=0.9))
    ds.set_values("second", second, key_field="id")
    compute_uncertainty(ds, "predictions")  # without others: its own evidence only
    alone = dict(zip(ids, ds.values(DIFFICULTY_FIELD), strict=True))
    q = build_queue(ds, "disagreement", others=["second"], exploration=0)
    dis = dict(zip(ids, ds.values("nblabel_disagreement"), strict=True))
    assert dis[ids[0]] == 0.0 and dis[ids[3]] == 1.0 and dis[ids[5]] == pytest.approx(0.5)
    assert set(q[:2]) == {ids[3], ids[5]}
    agreement = ds.values("predictions.detections.agreement")
    assert agreement[0] == [1.0, 1.0] and agreement[3] == [0.5]
    # The box only the second model sees makes image 5 harder than it was alone.
    diff = dict(zip(ids, ds.values(DIFFICULTY_FIELD), strict=True))
    assert diff[ids[5]] > alone[ids[5]] + 0.2 and diff[ids[3]] > alone[ids[3]]
    with pytest.raises(ValueError, match="needs several models"):
        fresh = fo.Dataset()
        try:
            fresh.add_sample_field("predictions", fo.EmbeddedDocumentField,
                                   embedded_doc_type=fo.Detections)
            build_queue(fresh, "disagreement")
        finally:
            fresh.delete()


def test_classification_uncertainty(tmp_path):
    from nblabel.demo.synthetic import make_shapes

    images = make_shapes(tmp_path / "img", 3, seed=5)
    ds = fo.Dataset()
    ds.add_samples([fo.Sample(filepath=str(i.path), kind=fo.Classification(
        label="cat", confidence=c, scores={"cat": c, "dog": 1 - c})) for i, c in
        zip(images, [0.95, 0.55, 0.8], strict=True)])
    try:
        assert compute_uncertainty(ds, "kind") == 3
        diff = ds.values(DIFFICULTY_FIELD)
        assert diff[1] > diff[2] > diff[0]
        assert ds.values("kind.margin") == pytest.approx([0.1, 0.9, 0.4])
    finally:
        ds.delete()
