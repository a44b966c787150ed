"""Bringing existing labels in: the recipes of docs/from-scratch.md for COCO, YOLO, VOC and CVAT
through FiftyOne's importers, as proposals to review or as truth.

The exports are made here by FiftyOne's exporters from the coins photo and its documented
truth (nblabel.demo.real), so each recipe runs on the files those tools write."""

import uuid

import fiftyone as fo
import pytest
from PIL import Image

import nblabel
from nblabel.demo.real import coins

FORMATS = {
    "coco": fo.types.COCODetectionDataset,
    "yolo": fo.types.YOLOv5Dataset,
    "voc": fo.types.VOCDetectionDataset,
    "cvat": fo.types.CVATImageDataset,
}


@pytest.fixture
def exported(tmp_path, request):
    """A labelled dataset exported in ``request.param``'s format; yields (dir, truth)."""
    real = coins()
    path = tmp_path / "img" / "coins.png"
    path.parent.mkdir()
    Image.fromarray(real.pixels).save(path)
    size = real.size
    src = fo.Dataset(f"export-{uuid.uuid4().hex[:8]}")
    src.add_sample(fo.Sample(filepath=str(path), ground_truth=fo.Detections(detections=[
        fo.Detection(label="coin", bounding_box=b.to_relative(size)) for b in real.boxes])))
    out = tmp_path / request.param
    kwargs = {"split": "val"} if request.param == "yolo" else {}
    src.export(export_dir=str(out), dataset_type=FORMATS[request.param],
               label_field="ground_truth", **kwargs)
    src.delete()
    yield request.param, out, real


def _import(fmt, directory, label_field):
    """The documented recipe: one FiftyOne importer call per format (COCO: boxes only; YOLO: the
    split; CVAT names its field ``<label_field>_detections``, renamed)."""
    kwargs = {"coco": {"label_types": "detections"}, "yolo": {"split": "val"}}.get(fmt, {})
    ds = fo.Dataset.from_dir(dataset_dir=str(directory), dataset_type=FORMATS[fmt],
                             label_field=label_field, name=f"import-{uuid.uuid4().hex[:8]}",
                             **kwargs)
    if fmt == "cvat":
        ds.rename_sample_field(f"{label_field}_detections", label_field)
    return ds


def test_a_misnamed_proposals_field_is_pointed_out(tmp_path, journal):
    real = coins()
    path = tmp_path / "coins.png"
    Image.fromarray(real.pixels).save(path)
    ds = fo.Dataset(f"misnamed-{uuid.uuid4().hex[:8]}")
    ds.add_sample(fo.Sample(filepath=str(path), predictions_detections=fo.Detections(
        detections=[fo.Detection(label="coin", bounding_box=[0.1, 0.1, 0.1, 0.1])])))
    try:
        w = nblabel.review(ds, journal=journal, assist=False)
        assert w.draw_first, "nothing proposed in 'predictions': labeling from scratch"
        assert "no field 'predictions'" in w.message
        assert "field='predictions_detections'" in w.message
        w.close()
    finally:
        ds.delete()


@pytest.mark.parametrize("exported", list(FORMATS), indirect=True)
def test_import_as_proposals_then_review(exported, journal):
    fmt, directory, real = exported
    ds = _import(fmt, directory, "predictions")
    try:
        w = nblabel.review(ds, journal=journal, assist=False)
        assert len(w.boxes) == len(real.boxes), f"{fmt}: every imported box is a proposal"
        assert not w.draw_first and w.classes == ["coin"]
        got = sorted((round(r["box"][0]), round(r["box"][1])) for r in w.boxes)
        want = sorted((round(b.x), round(b.y)) for b in real.boxes)
        assert all(abs(a[0] - b[0]) <= 1 and abs(a[1] - b[1]) <= 1
                   for a, b in zip(got, want, strict=True)), f"{fmt}: boxes kept their place"
        w.accept_all()
        w.go(1)
        w.session.flush()
        sample = ds.first()
        assert len(sample.ground_truth.detections) == len(real.boxes)
        assert "reviewed" in sample.tags
        w.close()
    finally:
        ds.delete()


@pytest.mark.parametrize("exported", ["coco", "cvat"], indirect=True)
def test_import_as_truth_to_measure_proposals(exported):
    fmt, directory, real = exported
    ds = _import(fmt, directory, "ground_truth")
    try:
        assert len(ds.first().ground_truth.detections) == len(real.boxes)
        ds.clone_sample_field("ground_truth", "predictions")
        res = ds.evaluate_detections("predictions", gt_field="ground_truth", eval_key="ev")
        assert res.metrics()["recall"] == pytest.approx(1.0), "truth agrees with itself"
    finally:
        ds.delete()
