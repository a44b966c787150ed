"""The geometry and review rules written once in ``nblabel.core``."""

import numpy as np

from nblabel.core import rules
from nblabel.core.geometry import (
    greedy_match,
    intersection_over_smaller,
    iou,
    iou_matrix,
    nms,
)


def test_iou_matrix_is_pairwise_iou():
    rng = np.random.default_rng(0)
    a = np.c_[rng.uniform(0, 50, (7, 2)), rng.uniform(1, 30, (7, 2))]
    b = np.c_[rng.uniform(0, 50, (5, 2)), rng.uniform(1, 30, (5, 2))]
    m = iou_matrix(a, b)
    assert m.shape == (7, 5)
    for i in range(7):
        for j in range(5):
            assert abs(m[i, j] - iou(a[i], b[j])) < 1e-12
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 5)


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [30, 30, 5, 5], [0, 0, 10, 10.5]])
    assert nms(boxes, np.array([0.5, 0.9, 0.3, 0.1]), 0.5) == [1, 2]


def test_intersection_over_smaller():
    assert intersection_over_smaller([0, 0, 10, 10], [2, 2, 3, 3]) == 1.0
    assert intersection_over_smaller([0, 0, 10, 10], [20, 0, 3, 3]) == 0.0
    assert abs(intersection_over_smaller([0, 0, 10, 10], [5, 0, 10, 10]) - 0.5) < 1e-12


def test_greedy_match_each_other_box_once_in_priority_order():
    boxes = [[0, 0, 10, 10], [1, 0, 10, 10], [50, 50, 5, 5]]
    others = [[0, 0, 10, 10], [100, 100, 5, 5]]
    out = greedy_match(boxes, others, min_iou=0.5)
    assert out[0] == (0, 1.0) and out[1][0] is None and out[2][0] is None
    # Only allowed pairs; among equal overlaps the preferred one wins.
    same = greedy_match([[0, 0, 10, 10]], [[0, 0, 10, 10], [0, 0, 10, 10]],
                        prefer=lambda i, j: j == 1)
    assert same[0][0] == 1
    none = greedy_match([[0, 0, 10, 10]], [[0, 0, 10, 10]], allowed=lambda i, j: False)
    assert none == [(None, 0.0)]


def test_leaving_finishes_only_what_was_worked_on():
    # Nothing decided, nothing shown: a skip, not a labeled negative.
    assert not rules.can_finish_on_leave([], set())
    # Every shown box decided: finished (hidden ones stay undecided).
    assert rules.can_finish_on_leave(["a"], {"a"})
    assert not rules.can_finish_on_leave(["a", "b"], {"a"})
    # Boxes drawn on an image with nothing proposed count as work done.
    assert rules.can_finish_on_leave([], set(), anything_decided=True)
    # An image class still undecided keeps the image open.
    assert not rules.can_finish_on_leave([], {"a"}, has_image_label=True)
    assert rules.visible(None, 0.9) and not rules.visible(0.1, rules.DEFAULT_THRESHOLD)
