"""Export of reviewed labels: COCO read back with pycocotools, YOLO trained on by ultralytics."""

from __future__ import annotations

import pytest
from pycocotools.coco import COCO

from nblabel.core.labels import Box
from nblabel.curation.export import export_reviewed
from nblabel.reviewing.editor.session import ReviewSession


@pytest.fixture
def reviewed_shapes(shapes_dataset, journal):
    """All but the last image reviewed: true boxes accepted, spurious ones rejected, one box
    drawn by hand."""
    ds = shapes_dataset
    session = ReviewSession(ds, journal=journal, reviewer="ann")
    for sid in session.queue[:-1]:
        state = session.load(sid)
        for p in state.proposals:
            session.decide(state, p.id, "rejected" if p.confidence < 0.25 else "accepted")
    first = session.load(session.queue[0])
    session.add(first, "triangle", Box(150, 150, 40, 30))
    session.close()
    return ds, session.queue


def test_coco_export_loads_in_pycocotools(reviewed_shapes, tmp_path):
    ds, queue = reviewed_shapes
    labels = export_reviewed(ds, tmp_path / "coco", "coco")
    coco = COCO(str(labels))
    reviewed = ds.match_tags("reviewed")
    assert len(coco.getImgIds()) == len(reviewed) == len(queue) - 1
    assert len(coco.getAnnIds()) == reviewed.count("ground_truth.detections")
    names = {c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert names == set(reviewed.distinct("ground_truth.detections.label"))
    # The hand-drawn box, in absolute pixels.
    triangle = [a for a in coco.loadAnns(coco.getAnnIds())
                if coco.loadCats(a["category_id"])[0]["name"] == "triangle"
                and a["bbox"][0] == pytest.approx(150, abs=1)]
    assert len(triangle) == 1 and triangle[0]["bbox"][2:] == pytest.approx([40, 30], abs=1)
    voc = export_reviewed(ds, tmp_path / "voc", "voc")
    xml = list((voc / "labels").glob("*.xml"))
    assert len(xml) == len(queue) - 1
    assert sum(x.read_text().count("<object>") for x in xml) == len(coco.getAnnIds())
    with pytest.raises(FileExistsError):
        export_reviewed(ds, tmp_path / "coco", "coco")
    with pytest.raises(ValueError, match="unknown export format"):
        export_reviewed(ds, tmp_path / "x", "csv")  # type: ignore[arg-type]


def test_yolo_export_trains_one_epoch(reviewed_shapes, tmp_path):
    from ultralytics import YOLO

    from nblabel.learning import train_ultralytics

    ds, queue = reviewed_shapes
    data = export_reviewed(ds, tmp_path / "yolo", "yolo", val_fraction=0.2)
    root = data.parent
    train_imgs = list((root / "images" / "train").iterdir())
    val_imgs = list((root / "images" / "val").iterdir())
    assert len(train_imgs) + len(val_imgs) == len(queue) - 1 and val_imgs
    lines = sum(len(p.read_text().splitlines()) for p in (root / "labels").rglob("*.txt"))
    assert lines == ds.match_tags("reviewed").count("ground_truth.detections")
    weights = train_ultralytics(data, tmp_path / "model.pt", model="yolov8n.yaml", epochs=1,
                                imgsz=64, batch=4)
    model = YOLO(str(weights))
    classes = sorted(ds.match_tags("reviewed").distinct("ground_truth.detections.label"))
    assert list(model.names.values()) == classes
