"""Pre-annotation with a real ultralytics model trained from scratch on generated shapes."""

from collections.abc import Sequence

import fiftyone as fo
import pytest
from PIL import Image

from nblabel.core.labels import Box, Proposal
from nblabel.demo.synthetic import make_shapes
from nblabel.preannotation import ERROR_FIELD, preannotate
from nblabel.sources import UltralyticsSource

pytestmark = pytest.mark.slow


@pytest.fixture
def shapes_with_truth(tmp_path):
    images = make_shapes(tmp_path / "img", 16, seed=21)
    ds = fo.Dataset()
    ds.add_samples([
        fo.Sample(filepath=str(img.path), truth=fo.Detections(detections=[
            fo.Detection(label=label, bounding_box=box.to_relative(img.size))
            for label, box in img.objects]))
        for img in images
    ])
    yield ds
    ds.delete()


def test_yolo_proposals_are_stored_with_confidence(shapes_with_truth, demo_model, tmp_path):
    ds = shapes_with_truth
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    (bad_id,) = ds.add_samples([fo.Sample(filepath=str(broken))])
    source = UltralyticsSource(demo_model, imgsz=160, conf=0.1)
    assert source.class_names == ["circle", "square", "triangle"]
    report = preannotate(ds, source, "predictions", batch_size=5, progress=False)

    assert report.images == 16 and set(report.errors) == {bad_id}
    assert "broken.jpg" in report.errors[bad_id]
    assert ds[bad_id][ERROR_FIELD] and ds[bad_id].predictions is None
    assert ds.exists(ERROR_FIELD).count() == 1
    confs = ds.values("predictions.detections.confidence", unwind=True)
    assert report.proposals == len(confs) > 0
    assert all(0.1 <= c <= 1 for c in confs)
    boxes = [b for dets in ds.values("predictions.detections.bounding_box") if dets for b in dets]
    assert all(min(x, y) >= 0 and max(x + w, y + h) <= 1 + 1e-9 for x, y, w, h in boxes)
    # The model is real: it finds a good share of the true objects.
    results = ds.exists("predictions").evaluate_detections(
        "predictions", gt_field="truth", iou=0.5)
    assert results.metrics()["recall"] > 0.3


def test_rerun_skips_done_samples(shapes_with_truth, demo_model):
    ds = shapes_with_truth
    source = UltralyticsSource(demo_model, imgsz=160)
    first = preannotate(ds.limit(6), source, progress=False)
    assert first.images == 6
    again = preannotate(ds, source, progress=False)
    assert again.skipped == 6 and again.images == 10
    assert ds.exists("predictions").count() == 16


def test_a_fixed_image_loses_its_error_on_rerun(shapes_with_truth, demo_model, tmp_path):
    ds = shapes_with_truth
    path = tmp_path / "later.jpg"
    path.write_bytes(b"half a download")
    (sid,) = ds.add_samples([fo.Sample(filepath=str(path))])
    source = UltralyticsSource(demo_model, imgsz=160)
    first = preannotate(ds, source, progress=False)
    assert set(first.errors) == {sid}
    path.write_bytes(Image.open(ds.first().filepath).tobytes("jpeg", "RGB"))
    again = preannotate(ds, source, progress=False)
    assert again.images == 1 and again.skipped == 16 and not again.errors
    ds.reload()
    assert ds[sid][ERROR_FIELD] is None and ds[sid].predictions is not None
    assert ds.exists(ERROR_FIELD).count() == 0


class _OddModel:
    """A proposal source whose boxes stick out of the image or lie wholly outside it, and
    which fails outright on one batch."""

    name = "odd"
    dropped = 0

    def __init__(self):
        self.calls = 0

    def propose(self, images: Sequence[Image.Image]) -> list[list[Proposal]]:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("model crashed")
        return [[Proposal("circle", Box(img.width - 10, -5, 40, 30), 0.7, source=self.name),
                 Proposal("square", Box(img.width + 5, 0, 10, 10), 0.6, source=self.name)]
                for img in images]


def test_out_of_image_boxes_and_a_failing_batch(shapes_with_truth):
    ds = shapes_with_truth
    report = preannotate(ds, _OddModel(), "odd", batch_size=4, progress=False)
    assert report.dropped == 12, "the box wholly outside is dropped on each image that ran"
    assert report.images == 12 and len(report.errors) == 4
    assert all("model crashed" in e for e in report.errors.values())
    boxes = [b for dets in ds.values("odd.detections.bounding_box") if dets for b in dets]
    assert len(boxes) == 12
    for x, y, w, _h in boxes:
        assert y == 0 and x + w == pytest.approx(1.0), "clipped to the image"


def _cross_class_overlaps(proposals: Sequence[Proposal], iou: float) -> int:
    return sum(1 for i, a in enumerate(proposals) for b in proposals[i + 1:]
               if a.label != b.label and a.box.iou(b.box) > iou)


def test_agnostic_nms_leaves_one_proposal_per_object(shapes_with_truth, demo_model):
    images = [Image.open(p).convert("RGB") for p in shapes_with_truth.values("filepath")]
    per_class = UltralyticsSource(demo_model, imgsz=160, conf=0.01, iou=0.5).propose(images)
    agnostic = UltralyticsSource(demo_model, imgsz=160, conf=0.01, iou=0.5,
                                 agnostic_nms=True).propose(images)
    # Ultralytics' default suppresses within a class only: the same object proposed as two
    # classes stays twice. Across classes, nothing overlapping survives (0.65, not the 0.5 of
    # the suppression: clipping boxes to the image afterwards can raise an IoU a little).
    assert sum(_cross_class_overlaps(p, 0.65) for p in per_class) > 0
    assert sum(_cross_class_overlaps(p, 0.65) for p in agnostic) == 0
    assert sum(map(len, agnostic)) < sum(map(len, per_class))
    best = [max((x.confidence or 0) for x in p) for p in per_class if p]
    assert best == [max((x.confidence or 0) for x in p) for p in agnostic if p]
