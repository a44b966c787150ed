"""Keypoints and polylines end to end, on a real FiftyOne database: proposals from a callable
and from ultralytics models trained here, review with undo and a journal that outlives the
session, the widget's messages, queue and analytics, and export read back by FiftyOne."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

fo = pytest.importorskip("fiftyone")

from nblabel.core.shapes import Shape  # noqa: E402
from nblabel.curation.shape_export import export_shapes  # noqa: E402
from nblabel.curation.shapes import keypoint_table, shape_queue  # noqa: E402
from nblabel.demo.poses import STICK, Figure, make_pose_dataset, truth_dataset  # noqa: E402
from nblabel.preannotation.shapes import preannotate_shapes  # noqa: E402
from nblabel.reviewing.shapes.review import ShapeReview  # noqa: E402
from nblabel.reviewing.shapes.widget import ShapeReviewWidget  # noqa: E402
from nblabel.sources.shapes import CallableShapes, UltralyticsShapes  # noqa: E402
from nblabel.store.journal import DecisionJournal  # noqa: E402
from nblabel.store.shapes import read_shapes  # noqa: E402


@pytest.fixture
def poses(tmp_path: Path) -> Iterator[tuple[Any, list[tuple[Path, list[Figure]]]]]:
    items = make_pose_dataset(tmp_path / "img", 5, seed=3)
    ds = fo.Dataset(f"poses-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(p)) for p, _ in items], progress=False)
    yield ds, items
    ds.delete()


def truth_source(items: list[tuple[Path, list[Figure]]], noise: float = 0.0) -> CallableShapes:
    """Proposes each image's true figures (found by the image's size and pixels), moved by
    ``noise`` pixels, plus a point outside the image and a figure with too few points on the
    first image."""
    table = {np.asarray(__import__("PIL.Image").Image.open(p).convert("RGB")).tobytes(): f
             for p, f in items}

    def propose(image: np.ndarray) -> list[dict[str, Any]]:
        figs = table[image.tobytes()]
        out = [{"label": f.label, "points": [[x + noise, y] for x, y, _ in f.points],
                "confidence": [0.9 - 0.1 * i for i in range(7)], "score": 0.8} for f in figs]
        if figs is items[0][1]:
            out[0]["points"][3] = [999.0, 5.0]
            out.append({"label": "person", "points": [[5, 5], [9, 9]]})
        return out

    return CallableShapes(propose, skeleton=STICK, name="truth")


def test_callable_keypoints_review_undo_journal_and_coco(poses: Any, tmp_path: Path,
                                                         journal: DecisionJournal) -> None:
    ds, items = poses
    report = preannotate_shapes(ds, truth_source(items))
    assert report.images == 5 and not report.errors
    first = ds.first().id
    assert any(f"sample {first}" in p and "left_hand at (999, 5)" in p for p in report.problems)
    assert any("has 2 keypoints, the skeleton has 7" in p for p in report.problems)
    assert ds.skeletons["keypoints"].labels == list(STICK.names)

    r = ShapeReview(ds, journal=journal, reviewer="ana", sample_ids=ds.values("id"))
    shapes = list(r.load(first).values())
    assert shapes[0].points[3] is None  # dropped, the rest kept
    a = shapes[0].id
    r.move_point(first, a, 0, (20, 30))
    r.hide_point(first, a, 1)
    r.reject_point(first, a, 2)
    added = r.add(first, "person", [(5, 5), None, (9, 9), None, None, None, None])
    assert r.undo() == first and added.id not in r.load(first)
    assert r.redo() == first and added.id in r.load(first)
    r.accept(first, a)
    r.accept_rest(first)
    r.complete(first)

    stored = ds[first]["gt_keypoints"].keypoints
    mine = next(k for k in stored if k.id == a)
    w, h = ds[first].metadata.width, ds[first].metadata.height
    assert mine.points[0] == pytest.approx([20 / w, 30 / h])
    assert mine.visible[1] == 1 and mine.visible[2] == 0 and np.isnan(mine.points[2][0])
    assert mine.review == "edited" and mine.reviewer == "ana"
    assert len(stored) == len(items[0][1]) + 1

    again = ShapeReview(ds, journal=journal, sample_ids=ds.values("id"))  # a new kernel
    assert again.load(first)[a] == r.load(first)[a] and added.id in again.load(first)

    labels = export_shapes(ds, tmp_path / "coco", "coco")
    data = json.loads(labels.read_text())
    assert data["categories"][0]["keypoints"] == list(STICK.names)
    assert data["categories"][0]["skeleton"][0] == [1, 2]
    ann = next(x for x in data["annotations"] if x["keypoints"][2] == 2
               and abs(x["keypoints"][0] - 20) <= 1)
    assert ann["keypoints"][5] == 1 and ann["keypoints"][8] == 0 and ann["num_keypoints"] == 5
    back = fo.Dataset.from_dir(dataset_type=fo.types.COCODetectionDataset,
                               data_path=str(tmp_path / "coco" / "data"),
                               labels_path=str(labels), label_types=["keypoints"])
    assert sum(len(s["ground_truth"].keypoints) for s in back) == len(stored)
    back.delete()


def test_yolo_pose_export_trains_an_ultralytics_pose_model(tmp_path: Path) -> None:
    from nblabel.learning import train_ultralytics

    items = make_pose_dataset(tmp_path / "img", 16, seed=8)
    ds = truth_dataset(f"pose-{uuid.uuid4().hex[:8]}", items)
    try:
        data = export_shapes(ds, tmp_path / "yolo", "yolo-pose")
        text = data.read_text()
        assert "kpt_shape: [7, 3]" in text and "flip_idx: [0, 1, 2, 4, 3, 6, 5]" in text
        line = next(iter((tmp_path / "yolo" / "labels" / "train").glob("*.txt"))).read_text()
        assert len(line.splitlines()[0].split()) == 5 + 7 * 3
        weights = train_ultralytics(data, tmp_path / "pose.pt", model="yolov8n-pose.yaml",
                                    epochs=1, imgsz=96, batch=8, precision="fp32")
        source = UltralyticsShapes(weights, imgsz=96, conf=0.0001)
        assert source.kind == "keypoints" and source.skeleton is not None
        assert source.skeleton.names == STICK.names  # carried by the export's kpt_names
        fresh = fo.Dataset(f"pose-new-{uuid.uuid4().hex[:8]}")
        fresh.add_samples([fo.Sample(filepath=str(p)) for p, _ in items[:4]], progress=False)
        report = preannotate_shapes(fresh, source)
        assert report.images == 4 and not report.errors
        got = read_shapes(fresh, fresh.values("id"), "keypoints", "keypoints")
        some = [s for v in got.values() for s in v]
        assert some and all(len(s.points) == 7 and len(s.confidence) == 7 for s in some)
        fresh.delete()
    finally:
        ds.delete()


def test_segment_model_proposes_polygons_reviewed_and_exported(tmp_path: Path,
                                                               segment_model: Path,
                                                               journal: DecisionJournal
                                                               ) -> None:
    from nblabel.demo.synthetic import make_shapes

    images = make_shapes(tmp_path / "img", 4, seed=2, max_objects=2)
    ds = fo.Dataset(f"poly-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(i.path)) for i in images], progress=False)
    try:
        report = preannotate_shapes(ds, UltralyticsShapes(segment_model, imgsz=160, conf=0.1))
        assert report.images == 4 and report.shapes > 0
        r = ShapeReview(ds, journal=journal, kind="polyline")
        sid = next(s for s in r.order if r.load(s))
        poly = next(iter(r.load(sid).values()))
        assert poly.closed and len(poly.points) >= 3
        moved = [(x + 1, y) for x, y in poly.points[:-1]]  # one vertex fewer, all moved
        r.reshape(sid, poly.id, moved)
        line = r.add(sid, "road", [(1, 1), (30, 5), (60, 40)])
        assert not line.closed
        r.accept_rest(sid)
        r.complete(sid)
        got = ds[sid]["gt_polylines"].polylines
        assert {p.id for p in got} >= {poly.id, line.id}
        assert len(next(p for p in got if p.id == poly.id).points[0]) == len(moved)
        cvat = export_shapes(ds, tmp_path / "cvat", "cvat", field="gt_polylines")
        back = fo.Dataset.from_dir(dataset_dir=str(cvat), dataset_type=fo.types.CVATImageDataset)
        assert sum(len(s["polylines"].polylines) for s in back if s["polylines"]) == len(got)
        back.delete()
        coco = json.loads(export_shapes(ds, tmp_path / "coco", "coco",
                                        field="gt_polylines").read_text())
        assert coco["annotations"] and all(a["segmentation"] for a in coco["annotations"])
        with pytest.raises(ValueError, match="yolo-pose needs keypoints"):
            export_shapes(ds, tmp_path / "y", "yolo-pose", field="gt_polylines")
    finally:
        ds.delete()


def test_queue_table_and_help_that_steps_back(poses: Any, journal: DecisionJournal) -> None:
    ds, items = poses
    preannotate_shapes(ds, truth_source(items, noise=25.0))  # every point far off
    conf = ds.values("keypoints.keypoints.confidence")
    order = shape_queue(ds, "keypoints")
    means = [min(np.mean(c) for c in conf[ds.values("id").index(s)]) for s in order]
    assert means == sorted(means)

    r = ShapeReview(ds, journal=journal, sample_ids=ds.values("id"))
    done = []
    for sid, (_, figs) in zip(ds.values("id")[:2], items[:2], strict=True):
        assert r.assist
        for s, f in zip(list(r.load(sid).values()), figs, strict=False):
            for i, (x, y, _) in enumerate(f.points):
                if s.points[i] is not None:
                    r.move_point(sid, s.id, i, (x, y))
        for s in list(r.load(sid).values()):
            if s.status == "pending":
                r.reject(sid, s.id)
        review, hand = r.complete(sid)
        done.append((review, hand))
    assert all(rv > hd for rv, hd in done) and not r.assist
    nxt = ds.values("id")[2]
    assert r.shapes_on(nxt) == [] and r.pending(nxt) == []  # proposals held back
    r.show_proposals(nxt)
    assert r.shapes_on(nxt)

    table = keypoint_table(ds)
    row = table.set_index("point").loc["head"]
    assert row["proposed"] >= 3 and row["moved"] >= 3 and row["mean_confidence"] == \
        pytest.approx(0.9)


def test_widget_messages_drive_the_review(poses: Any, journal: DecisionJournal) -> None:
    ds, items = poses
    preannotate_shapes(ds, truth_source(items))
    sample = ds.first()  # stored labels gone bad: a point off the image, a wrong skeleton
    sample["keypoints"].keypoints[0].points[3] = [1.4, 0.5]
    sample["keypoints"].keypoints.append(fo.Keypoint(label="person", points=[[0.1, 0.1]] * 3))
    sample.save()
    w = ShapeReviewWidget(ShapeReview(ds, journal=journal, sample_ids=ds.values("id")))
    sent: list[dict[str, Any]] = []
    w.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    assert w.image and w.width == 160 and w.shapes and w.skeleton["names"][0] == "head"
    assert "left_hand at (224, " in w.message and "has 3 keypoints" in w.message
    first = w.selected
    w.dispatch({"kind": "act", "seq": 1, "action": "move_point", "shape": first, "point": 0,
               "xy": [12.0, 13.0]})
    assert sent[-1] == {"kind": "answer", "seq": 1, "error": None}
    shape = next(s for s in w.shapes if s["id"] == first)
    assert shape["points"][0] == [12.0, 13.0] and shape["pst"][0] == 3
    w.dispatch({"kind": "act", "seq": 2, "action": "hide_point", "shape": first, "point": -1})
    assert "select a point first" in sent[-1]["error"]
    w.dispatch({"kind": "act", "seq": 3, "action": "accept_rest", "shape": first})
    w.dispatch({"kind": "act", "seq": 4, "action": "complete", "shape": first})
    assert w.position == 1 and w.sample_id == ds.values("id")[1]
    w.dispatch({"kind": "act", "seq": 5, "action": "undo", "shape": ""})
    assert w.position == 0 and sent[-1]["error"] is None  # undo goes back to its image
    w.dispatch({"kind": "nav", "to": "next"})
    assert w.position == 1
    w.dispatch({"kind": "act", "seq": 6, "action": "add", "shape": "",
               "points": [[5, 5]] + [None] * 6})
    assert any(s["status"] == 4 for s in w.shapes)


def test_bad_images_and_failing_sources_are_named(tmp_path: Path,
                                                  journal: DecisionJournal) -> None:
    items = make_pose_dataset(tmp_path / "img", 2, seed=4)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    ds = fo.Dataset(f"bad-{uuid.uuid4().hex[:8]}")
    ids = ds.add_samples([fo.Sample(filepath=str(p)) for p in [items[0][0], bad, items[1][0]]],
                         progress=False)
    try:
        calls = iter(range(10))

        def flaky(image: np.ndarray) -> list[dict[str, Any]]:
            if next(calls) == 1:
                raise RuntimeError("the model ran out of memory")
            return [{"label": "person", "points": [[10, 10]] * 7}]

        report = preannotate_shapes(ds, CallableShapes(flaky, skeleton=STICK))
        assert "broken.png" in report.errors[ids[1]]
        assert "ran out of memory" in report.errors[ids[2]]
        assert ds[ids[2]]["nblabel_error"] == report.errors[ids[2]]
        assert report.images == 1
        again = preannotate_shapes(ds, CallableShapes(flaky, skeleton=STICK))
        assert again.skipped == 1  # the done image is not proposed for again
        with pytest.raises(ValueError, match="proposes no shapes"):
            UltralyticsShapes(type("M", (), {"task": "detect"})())
    finally:
        ds.delete()


def test_keypoints_from_scratch_need_and_take_a_skeleton(poses: Any,
                                                        journal: DecisionJournal) -> None:
    ds, _ = poses
    with pytest.raises(ValueError, match="no skeleton for 'keypoints'"):
        ShapeReview(ds, journal=journal)
    r = ShapeReview(ds, journal=journal, skeleton=STICK)
    sid = r.order[0]
    assert r.load(sid) == {} and ds.skeletons["gt_keypoints"].labels == list(STICK.names)
    made = r.add(sid, "person", [(10, 10), (10, 20), None, None, None, None, None])
    with pytest.raises(ValueError, match="needs 7 points"):
        r.add(sid, "person", [(1, 1)])
    r.complete(sid)
    assert ds[sid]["gt_keypoints"].keypoints[0].id == made.id


def test_shapes_are_plain_values() -> None:
    s = Shape("e" * 24, "keypoints", "person", ((1.0, 2.0),))
    assert s.present == [0] and s.mean_confidence() is None
