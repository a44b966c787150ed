"""Label attributes in every kind: declared per class, set on the selected label from the
widget's message, refused by name when wrong, journaled and undone like any decision, stored as
FiftyOne label attributes, and exported with COCO and CVAT (read back)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import nblabel
from nblabel.store.journal import DecisionJournal
from tests.harness.kinds import (
    KINDS,
    accept_message,
    answer_to,
    attributes_message,
    build,
    stored_attributes,
)

ATTRIBUTES = {"occluded": "bool", "quality": ["good", "poor"], "note": "text"}


def _undo(w: Any, seq: int) -> dict[str, Any]:
    if type(w).__name__ == "ReviewWidget":
        return {"kind": "undo", "seq": seq}
    msg = accept_message(w, seq)
    msg["action"] = "undo"
    return msg


@pytest.mark.parametrize("kind", KINDS)
def test_attributes_are_set_checked_undone_and_stored(kind: str, tmp_path: Path) -> None:
    made = build(kind, tmp_path / "data")
    w = made.open(DecisionJournal(tmp_path / "j.sqlite"), attributes=ATTRIBUTES)
    sent: list[dict[str, Any]] = []
    w.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    assert w.attributes == {"*": [{"name": "occluded", "kind": "bool", "options": []},
                                  {"name": "quality", "kind": "choice",
                                   "options": ["good", "poor"]},
                                  {"name": "note", "kind": "text", "options": []}]}

    w.dispatch(attributes_message(w, 1, {"quality": "blurry"}))
    error = answer_to(sent, 1)["error"]
    assert "quality" in error and "blurry" in error and "good" in error, error

    w.dispatch(attributes_message(w, 2, {"occluded": True, "quality": "poor"}))
    assert answer_to(sent, 2)["error"] is None
    w.dispatch(attributes_message(w, 3, {"note": "half hidden"}))  # merged with the others
    assert answer_to(sent, 3)["error"] is None
    if hasattr(w.session, "flush"):  # images and slices sync in the background
        w.session.flush()
    assert True in stored_attributes(w, "occluded")
    assert "poor" in stored_attributes(w, "quality")
    assert "half hidden" in stored_attributes(w, "note")

    w.dispatch(_undo(w, 4))  # the note goes, the rest stays
    assert answer_to(sent, 4)["error"] is None
    if hasattr(w.session, "flush"):  # images and slices sync in the background
        w.session.flush()
    assert stored_attributes(w, "note") == [] and "poor" in stored_attributes(w, "quality")
    w.close()


def test_attributes_go_out_with_coco_and_cvat(tmp_path: Path) -> None:
    made = build("image", tmp_path / "data")
    w = made.open(DecisionJournal(tmp_path / "j.sqlite"), attributes={
        "*": {"occluded": "bool"}, "circle": {"crowd": "bool"}})
    key = w.selected
    w.dispatch(attributes_message(w, 1, {"occluded": True}))
    w.dispatch({"kind": "decide", "seq": 2, "sample_id": w.sample_id, "keys": [key],
                "action": "accepted"})
    w.session.flush()
    ds = w.session.dataset
    coco = nblabel.export_reviewed(ds, tmp_path / "coco", "coco", only_reviewed=False)
    annotations = json.loads(coco.read_text())["annotations"]
    assert any(a.get("occluded") is True for a in annotations), annotations[:2]
    cvat = nblabel.export_reviewed(ds, tmp_path / "cvat", "cvat", only_reviewed=False)
    xml = cvat.read_text()
    assert 'occluded="1"' in xml
    import fiftyone as fo

    back = fo.Dataset.from_dir(str(tmp_path / "cvat"), fo.types.CVATImageDataset,
                               label_field="gt")
    occluded = [d.occluded for s in back for d in (s["gt_detections"].detections
                                                 if s["gt_detections"] else [])]
    assert True in occluded
    back.delete()
    w.close()


def test_a_wrong_declaration_is_named() -> None:
    from nblabel.core.attributes import parse_attributes
    from nblabel.core.labels import InvalidLabelError

    with pytest.raises(InvalidLabelError, match="'label' is a name labels already use"):
        parse_attributes({"label": "text"})
    with pytest.raises(InvalidLabelError, match="has kind 'colour'"):
        parse_attributes({"tint": "colour"})
    with pytest.raises(InvalidLabelError, match="one name, one kind"):
        parse_attributes({"a": {"x": "bool"}, "b": {"x": "text"}})
    spec = parse_attributes({"person": {"pose": ["up", "down"]}, "*": {"occluded": "bool"}})
    assert [s.name for s in spec.of("person")] == ["pose", "occluded"]
    with pytest.raises(InvalidLabelError, match="class 'car' has no attribute 'pose'"):
        spec.check("car", {"pose": "up"})
    with pytest.raises(InvalidLabelError, match="is true or false, not 'yes'"):
        spec.check("car", {"occluded": "yes"})


def test_attributes_come_from_the_datasets_fiftyone_label_schema(tmp_path: Path) -> None:
    """With no declaration, the label schema FiftyOne's App annotation keeps on the dataset
    (``dataset.label_schemas``) declares the attributes."""
    import fiftyone as fo

    from nblabel.core.attributes import from_label_schema

    made = build("image", tmp_path / "data")
    ds = fo.load_dataset(made.dataset)
    ds.add_sample_field("ground_truth", fo.EmbeddedDocumentField, embedded_doc_type=fo.Detections)
    schema = ds.generate_label_schemas("ground_truth", scan_samples=False)
    schema["attributes"] = [*schema.get("attributes", []),
                            {"name": "occluded", "type": "bool", "component": "checkbox"},
                            {"name": "quality", "type": "str", "component": "radio",
                             "values": ["good", "poor"]}]
    ds.add_sample_field("ground_truth.detections.occluded", fo.BooleanField)
    ds.add_sample_field("ground_truth.detections.quality", fo.StringField)
    ds.set_label_schemas({"ground_truth": schema})
    assert from_label_schema(ds.label_schemas["ground_truth"]) == {
        "occluded": "bool", "quality": ["good", "poor"]}
    w = made.open(DecisionJournal(tmp_path / "j.sqlite"))
    names = {s["name"]: s for s in w.attributes["*"]}
    assert names["occluded"]["kind"] == "bool"
    assert names["quality"] == {"name": "quality", "kind": "choice", "options": ["good", "poor"]}
    w.close()


@pytest.mark.parametrize("kind", ["shapes", "video"])
def test_attributes_of_shapes_and_tracks_go_out_with_their_exports(kind: str,
                                                                   tmp_path: Path) -> None:
    made = build(kind, tmp_path / "data")
    w = made.open(DecisionJournal(tmp_path / "j.sqlite"), attributes={"occluded": "bool"})
    w.dispatch(attributes_message(w, 1, {"occluded": True}))
    ds = w.session.dataset
    if kind == "shapes":
        coco = nblabel.export_shapes(ds, tmp_path / "coco", "coco", only_reviewed=False)
        annotations = json.loads(coco.read_text())["annotations"]
        assert any(a.get("occluded") is True for a in annotations), annotations[:1]
        cvat = nblabel.export_shapes(ds, tmp_path / "cvat", "cvat", only_reviewed=False)
    else:
        cvat = nblabel.export_tracks(ds, tmp_path / "cvat", "cvat", only_reviewed=False)
    xml = "".join(p.read_text() for p in Path(cvat).rglob("*.xml")) if Path(cvat).is_dir() \
        else Path(cvat).read_text()
    assert 'occluded="1"' in xml
    w.close()
