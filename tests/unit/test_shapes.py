"""Keypoint and polyline rules: the review actions, validation, and their pricing."""

from __future__ import annotations

import pytest

from nblabel.core import shapes as sh
from nblabel.core.cost import PointCost, replay_keypoints, shape_seconds
from nblabel.core.labels import ImageSize, InvalidLabelError
from nblabel.core.shapes import Shape, ShapeDecision, Skeleton, SkeletonMismatch
from nblabel.curation.shape_export import flip_index

SIZE = ImageSize(100, 80)
SK = Skeleton(("head", "left_hand", "right_hand"), ((0, 1), (0, 2)))


def person(**kw: object) -> Shape:
    args: dict[str, object] = {"points": ((50.0, 10.0), (30.0, 40.0), (70.0, 40.0)),
                               "confidence": (0.9, 0.4, 0.8), "score": 0.85}
    args.update(kw)
    return Shape("a" * 24, "keypoints", "person", **args)  # type: ignore[arg-type]


def test_skeleton_refuses_bad_edges_and_names() -> None:
    with pytest.raises(InvalidLabelError, match="does not join"):
        Skeleton(("a", "b"), ((0, 2),))
    with pytest.raises(InvalidLabelError, match="repeat"):
        Skeleton(("a", "a"))


def test_point_actions_settle_the_instance_when_no_point_is_pending() -> None:
    s = person()
    s = sh.accept_point(s, 0)
    assert s.status == "pending" and s.point_status[0] == "accepted"
    s = sh.move_point(s, 1, (33, 44), SIZE)
    assert s.points[1] == (33.0, 44.0) and s.point_status[1] == "edited"
    s = sh.reject_point(s, 2)  # the last pending point decided: the instance is done
    assert s.points[2] is None and s.status == "edited" and s.kept


def test_accept_keeps_edits_and_reject_drops_the_instance() -> None:
    assert sh.accept(person()).status == "accepted"
    edited = sh.accept(sh.hide_point(person(), 1))
    assert edited.status == "edited" and edited.visible[1] is False
    assert edited.point_status == ("accepted", "edited", "accepted")
    assert not sh.reject(person()).kept


def test_a_dragged_point_is_clipped_and_a_missing_one_placed() -> None:
    s = person(points=((50.0, 10.0), None, (70.0, 40.0)))
    placed = sh.move_point(s, 1, (150, -5), SIZE)
    assert placed.points[1] == (100.0, 0.0) and placed.point_status[1] == "added"
    with pytest.raises(InvalidLabelError, match="no point 1 to mark"):
        sh.hide_point(s, 1)


def test_checked_drops_outside_points_and_refuses_a_skeleton_mismatch() -> None:
    problems: list[str] = []
    s = person(points=((50.0, 10.0), (130.0, 40.0), (70.0, 40.0)))
    fit = sh.checked(s, SIZE, SK, problems, "sample 7")
    assert fit is not None and fit.points[1] is None
    assert "sample 7" in problems[0] and "left_hand at (130, 40)" in problems[0]
    wrong = Shape("b" * 24, "keypoints", "person", ((1.0, 1.0), (2.0, 2.0)))
    assert sh.checked(wrong, SIZE, SK, problems, "sample 7") is None
    assert "has 2 keypoints, the skeleton has 3" in problems[1]
    assert issubclass(SkeletonMismatch, InvalidLabelError)


def test_bad_values_are_named() -> None:
    with pytest.raises(InvalidLabelError, match="finite"):
        person(points=((float("nan"), 1.0), (1.0, 1.0), (2.0, 2.0)))
    with pytest.raises(InvalidLabelError, match=r"confidence 1.5 not in \[0, 1\]"):
        person(confidence=(1.5, 0.1, 0.1))
    with pytest.raises(InvalidLabelError, match="at least 2 points"):
        Shape("c" * 24, "polyline", "road", ((1.0, 1.0),))


def test_polyline_reshape_and_new_shapes() -> None:
    line = Shape("d" * 24, "polyline", "road", ((0.0, 0.0), (10.0, 10.0)))
    out = sh.reshape(line, [(0, 0), (5, 8), (10, 10)], SIZE, closed=True)
    assert out.status == "edited" and out.closed and len(out.points) == 3
    with pytest.raises(InvalidLabelError, match="not a polyline"):
        sh.reshape(person(), [(0, 0), (1, 1)])
    drawn = sh.new_shape("keypoints", "person", [(1, 1), None, (3, 3)], size=SIZE)
    assert drawn.status == "added" and drawn.point_status == ("added", "rejected", "added")
    assert len(drawn.id) == 24 and int(drawn.id, 16) >= 0


def test_decisions_round_trip() -> None:
    d = ShapeDecision("s1", "a" * 24, sh.hide_point(person(), 1), "ana", 3.5)
    back = ShapeDecision.from_dict(d.to_dict())
    assert back.shape == d.shape and back.key == f"shape:{'a' * 24}" and back.seconds == 3.5
    assert ShapeDecision.from_dict(ShapeDecision("s1", "x", None).to_dict()).shape is None


def test_replay_prices_each_point_action() -> None:
    truth = [[(10.0, 10.0, True), (50.0, 50.0, True), (90.0, 10.0, False)]]
    good = (0.9, [(11.0, 10.0, True), (50.0, 51.0, True), (90.0, 10.0, False)])
    r = replay_keypoints([good], truth)
    c = PointCost()
    assert r["verified"] == 3 and r["seconds"] == pytest.approx(
        c.per_image + c.accept + 3 * c.verify_point)
    assert r["by_hand"] == pytest.approx(c.per_image + c.new_instance + 3 * c.place_point
                                         + c.toggle_visible)
    off = (0.9, [(30.0, 30.0, True), (50.0, 50.0, True), None])
    r = replay_keypoints([off, (0.2, [(200.0, 200.0, True)] * 3)], truth)
    assert (r["dragged"], r["placed"], r["toggled"], r["rejected"]) == (1, 1, 1, 1)
    assert replay_keypoints([], truth)["seconds"] == pytest.approx(r["by_hand"])


def test_shape_seconds_measures_a_review_against_drawing() -> None:
    p = person()
    review, hand = shape_seconds([p], [sh.accept(p)])
    c = PointCost()
    assert review == pytest.approx(c.per_image + c.accept + 3 * c.verify_point)
    assert hand == pytest.approx(c.per_image + c.new_instance + 3 * c.place_point)
    review, _ = shape_seconds([p], [sh.reject(p)])
    assert review == pytest.approx(c.per_image + c.reject)


def test_flip_index_swaps_left_and_right() -> None:
    assert flip_index(("head", "left_hand", "right_hand", "l_foot", "r_foot")) == [0, 2, 1, 4, 3]
