import pytest
from PIL import Image

from nblabel.sources import CallableSource, LabelMap


def test_label_map_by_name_index_and_explicit_drop():
    m = LabelMap({0: "person", "bike": "vehicle", "car": "vehicle", "sky": None})
    assert m("human", 0) == "person"
    assert m("car", 5) == "vehicle" and m("sky") is None and m("tree") is None
    assert LabelMap()("anything") == "anything"
    assert m.scores({"bike": 0.2, "car": 0.5, "tree": 0.3}) == pytest.approx({"vehicle": 0.7})
    with pytest.raises(ValueError, match="non-empty strings"):
        LabelMap({"a": ""})


def test_callable_source_counts_unmapped_classes():
    def fn(img):
        return [{"label": 0, "box": [0, 0, 10, 10], "score": 0.9},
                {"label": "tree", "box": [0, 0, 10, 10], "score": 0.9},
                {"label": "tree", "box": [5, 5, 10, 10], "score": 0.8}]

    src = CallableSource(fn, label_map={0: "person"})
    (props,) = src.propose([Image.new("RGB", (64, 64))])
    assert [p.label for p in props] == ["person"]
    assert src.unmapped == {"tree": 2} and src.dropped == 0


def test_callable_classifier_and_bad_output():
    src = CallableSource(lambda im: {"cat": 0.25, "dog": 0.75}, task="classify")
    ((p,),) = src.propose([Image.new("RGB", (40, 30))])
    assert p.label == "dog" and p.box.as_list() == [0, 0, 40, 30]
    bad = CallableSource(lambda im: ["dog"], task="classify")
    (err,) = bad.propose([Image.new("RGB", (40, 30))])
    assert "must return {label: score}" in str(err)
    nan = CallableSource(lambda im: {"cat": float("nan"), "dog": 0.5}, task="classify")
    assert nan.propose([Image.new("RGB", (40, 30))]) == [[]] and nan.dropped == 1
