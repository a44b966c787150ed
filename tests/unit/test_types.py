import math
from datetime import datetime

import pytest

from nblabel.core.labels import Action, Box, Decision, ImageSize, InvalidLabelError, Proposal

SIZE = ImageSize(200, 100)


def test_relative_round_trip_is_exact_for_pixels():
    box = Box(20, 10, 50, 40)
    rel = box.to_relative(SIZE)
    assert rel == [0.1, 0.1, 0.25, 0.4]
    assert Box.from_relative(rel, SIZE) == box


def test_from_xyxy_and_inverted_corners():
    assert Box.from_xyxy(1, 2, 11, 22) == Box(1, 2, 10, 20)
    with pytest.raises(InvalidLabelError, match="inverted"):
        Box.from_xyxy(10, 10, 5, 20)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_coordinates_are_refused(bad):
    with pytest.raises(InvalidLabelError, match="finite"):
        Box(bad, 0, 1, 1)


def test_negative_size_is_refused_with_reason():
    with pytest.raises(InvalidLabelError, match="negative size"):
        Box(0, 0, -3, 4)


def test_box_sticking_out_is_clipped():
    assert Box(-10, 90, 50, 30).clipped(SIZE) == Box(0, 90, 40, 10)


def test_box_wholly_outside_is_refused():
    with pytest.raises(InvalidLabelError, match="outside the 200x100 image"):
        Box(250, 10, 20, 20).clipped(SIZE)


def test_iou():
    a = Box(0, 0, 10, 10)
    assert a.iou(a) == 1.0
    assert a.iou(Box(5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert a.iou(Box(20, 20, 5, 5)) == 0.0


@pytest.mark.parametrize("conf, message", [(math.nan, "finite"), (1.5, r"outside \[0, 1\]"),
                                           (-0.1, r"outside \[0, 1\]")])
def test_bad_confidence_is_refused(conf, message):
    with pytest.raises(InvalidLabelError, match=message):
        Proposal("cat", Box(0, 0, 1, 1), conf)


def test_nan_class_score_is_refused():
    with pytest.raises(InvalidLabelError, match="score of 'dog'"):
        Proposal("cat", Box(0, 0, 1, 1), 0.5, scores={"cat": 0.5, "dog": math.nan})


def test_image_size_must_be_positive():
    with pytest.raises(InvalidLabelError, match="positive"):
        ImageSize(0, 10)


def test_decisions_validate_their_shape():
    p = Proposal("cat", Box(10, 10, 20, 20), 0.8)
    acc = Decision.accept("s1", p, SIZE, reviewer="ann")
    assert acc.action is Action.ACCEPTED and acc.label == "cat" and acc.key == p.id
    rej = Decision.reject("s1", p, SIZE)
    assert rej.label is None and rej.box is None and rej.proposal == p
    added = Decision.add("s1", SIZE, "dog", Box(190, 0, 30, 30))
    assert added.box == Box(190, 0, 10, 30), "an added box is clipped to the image"
    assert added.key and added.key != p.id
    with pytest.raises(InvalidLabelError, match="needs its original proposal"):
        Decision("s1", Action.EDITED, SIZE, "cat", Box(0, 0, 1, 1))
    with pytest.raises(InvalidLabelError, match="timezone"):
        Decision.accept("s1", p, SIZE, decided_at=datetime(2026, 1, 1))
    with pytest.raises(InvalidLabelError, match="seconds_on_image"):
        Decision.accept("s1", p, SIZE, seconds_on_image=math.nan)


def test_decision_round_trips_through_dict():
    p = Proposal("cat", Box(10, 10, 20, 20), 0.8, source="m", scores={"cat": 0.8, "dog": 0.2})
    d = Decision.edit("s1", p, SIZE, "dog", Box(12, 11, 20, 25), reviewer="ann",
                      seconds_on_image=3.5)
    again = Decision.from_dict(d.to_dict())
    assert again == d
