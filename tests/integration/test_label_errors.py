"""Errors in human labels: injected errors rank first, each named by kind, a broken stored label
is named and counted, and the check is reviewed in the widget into a new field while the
original labels stay as they were."""

import uuid

import fiftyone as fo
import pytest

import nblabel
from nblabel.core.labels import Box
from nblabel.curation.label_errors import find_label_errors
from nblabel.demo.synthetic import make_shapes
from nblabel.store.schema import LABEL_CHECK_FIELD, LABEL_ERROR_FIELD


@pytest.fixture
def labeled(tmp_path):
    """12 generated images: predictions are the truth (confidence 0.9); the labels are the truth
    except one error on each of images 0-3 (class, moved, dropped, added) and a broken box on
    image 4."""
    images = [im for im in make_shapes(tmp_path / "img", 40, seed=8, max_objects=3)
              if len(im.objects) >= 2][:12]
    ds = fo.Dataset(f"label-errors-{uuid.uuid4().hex[:8]}")
    samples = []
    for k, im in enumerate(images):
        labels = list(im.objects)
        if k == 0:
            labels[0] = ("square" if labels[0][0] != "square" else "circle", labels[0][1])
        elif k == 1:
            b = labels[0][1]
            labels[0] = (labels[0][0], Box(b.x + b.w * 0.6, b.y, b.w, b.h))
        elif k == 2:
            labels.pop(0)
        elif k == 3:
            labels.append(("circle", Box(2, 2, 20, 20)))
        gt = [fo.Detection(label=c, bounding_box=b.to_relative(im.size)) for c, b in labels]
        if k == 4:
            gt.append(fo.Detection(label="circle", bounding_box=[0.1, 0.1, float("nan"), 0.2]))
        preds = [fo.Detection(label=c, bounding_box=b.to_relative(im.size), confidence=0.9)
                 for c, b in im.objects]
        samples.append(fo.Sample(filepath=str(im.path), ground_truth=fo.Detections(detections=gt),
                                 predictions=fo.Detections(detections=preds)))
    ds.add_samples(samples, progress=False)
    yield ds
    ds.delete()


def test_injected_errors_rank_first_and_are_named(labeled):
    ids = labeled.values("id")
    found = find_label_errors(labeled)
    ranked = found.view.values("id")
    assert set(ranked[:5]) == set(ids[:5])
    kinds = [{s.kind for s in found.suspects[sid]} - {""} for sid in ids[:4]]
    assert kinds == [{"class"}, {"placed"}, {"missing"}, {"spurious"}]
    assert ids[4] in found.problems and "not 4 finite numbers" in found.problems[ids[4]]
    assert found.scores[ids[4]] == 1.0
    assert max(found.scores[s] for s in ids[5:]) < 0.1
    stored = dict(zip(ids, labeled.values(LABEL_ERROR_FIELD), strict=True))
    assert stored == pytest.approx(found.scores)


def test_the_check_is_reviewed_in_the_widget_into_a_new_field(labeled, journal):
    found = find_label_errors(labeled)
    w = nblabel.review(found.view, field=LABEL_CHECK_FIELD,
                       gt_field="ground_truth_checked", threshold=0.0, journal=journal)
    ranked = found.view.values("id")
    assert w.sample_id == ranked[0]
    # On the image with a dropped label, the model's missing object is proposed with the rest.
    while w.sample_id != labeled.values("id")[2]:
        w.dispatch({"kind": "go", "delta": 1})
    rows = {r["key"]: r for r in w.boxes}
    check = labeled[w.sample_id][LABEL_CHECK_FIELD].detections
    missing = [d for d in check if d.suspect == "missing"]
    assert len(missing) == 1 and missing[0].id in rows
    assert len(rows) == len(check), "every proposal is shown at threshold 0"
    w.dispatch({"kind": "accept_all", "sample_id": w.sample_id})
    w.session.flush()
    sample = labeled[w.sample_id]
    assert len(sample.ground_truth_checked.detections) == len(sample.ground_truth.detections) + 1
    assert len(sample.ground_truth.detections) == len(check) - 1, "the labels stay as they were"
