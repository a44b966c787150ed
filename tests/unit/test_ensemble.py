import pytest
from PIL import Image

from nblabel.core.labels import Box
from nblabel.sources import CallableSource, EnsembleSource, ProposalError

IMG = Image.new("RGB", (200, 100))


def _source(name, preds):
    def fn(_img):
        if preds == "fail":
            raise RuntimeError("down")
        return preds

    return CallableSource(fn, name=name)


def test_weighted_box_fusion_keeps_agreement():
    a = _source("a", [{"label": "cat", "box": [10, 10, 40, 40], "score": 0.9},
                      {"label": "dog", "box": [120, 10, 30, 30], "score": 0.8}])
    b = _source("b", [{"label": "cat", "box": [14, 10, 40, 40], "score": 0.9}])
    (props,) = EnsembleSource([a, b]).propose([IMG])
    cat = next(p for p in props if p.label == "cat")
    dog = next(p for p in props if p.label == "dog")
    assert cat.box.x == pytest.approx(12) and cat.box.w == pytest.approx(40)
    assert cat.confidence == pytest.approx(0.9) and cat.agreement == 1.0
    assert dog.agreement == 0.5 and dog.confidence == pytest.approx(0.4), \
        "a box only one of two members saw keeps half its confidence"
    assert all(p.source == "ensemble" for p in props)


def test_weights_and_labels_matter():
    a = _source("a", [{"label": "cat", "box": [10, 10, 40, 40], "score": 0.6}])
    b = _source("b", [{"label": "dog", "box": [10, 10, 40, 40], "score": 0.6}])
    props = EnsembleSource([a, b], weights=[3, 1]).propose([IMG])[0]
    assert sorted((p.label, round(p.confidence, 2)) for p in props) == [
        ("cat", 0.45), ("dog", 0.15)], "different labels are not fused"
    assert Box(10, 10, 40, 40) == props[0].box


def test_member_failure_fails_the_image():
    ok = _source("ok", [{"label": "cat", "box": [1, 1, 5, 5], "score": 0.5}])
    (result,) = EnsembleSource([ok, _source("broken", "fail")]).propose([IMG])
    assert isinstance(result, ProposalError) and "down" in str(result)
    with pytest.raises(ValueError, match="positive weight"):
        EnsembleSource([ok], weights=[0])
