import math

import pytest

from nblabel.curation.queue import explore
from nblabel.curation.uncertainty import (
    entropy,
    image_difficulty,
    least_confidence,
    margin,
    proposal_uncertainty,
)


def test_measures_on_distributions():
    assert least_confidence([0.7, 0.2, 0.1]) == pytest.approx(0.3)
    assert margin([0.7, 0.2, 0.1]) == pytest.approx(0.5)
    assert entropy([1 / 3] * 3) == pytest.approx(1.0)
    assert entropy([1.0, 0.0, 0.0]) == pytest.approx(0.0)
    # A bare confidence is the two-way distribution (c, 1 - c).
    assert least_confidence([0.9]) == pytest.approx(0.1)
    assert margin([0.5]) == pytest.approx(1.0)


def test_nan_scores_do_not_poison_the_measure():
    assert least_confidence([math.nan, 0.8, 0.2]) == pytest.approx(0.2)


def test_proposal_uncertainty_prefers_class_scores():
    sure = proposal_uncertainty(0.9, {"cat": 0.9, "dog": 0.1})
    torn = proposal_uncertainty(0.5, {"cat": 0.5, "dog": 0.5})
    assert torn["entropy"] > sure["entropy"] and torn["margin"] > sure["margin"]


def test_image_difficulty_orders_images():
    easy = image_difficulty([0.95, 0.9])
    weak = image_difficulty([0.95, 0.3, 0.2])
    assert 0 <= easy < weak <= 1
    assert image_difficulty([]) == 0.0


def test_exploration_is_deterministic_and_keeps_everything():
    items = [str(i) for i in range(100)]
    a = explore(items, 0.1, seed=3)
    assert a == explore(items, 0.1, seed=3)
    assert sorted(a) == sorted(items) and a != items
    assert explore(items, 0.0) == items
    moved = sum(1 for i, x in enumerate(a) if x != items[i])
    assert moved > 0
    with pytest.raises(ValueError, match="exploration share"):
        explore(items, 1.5)
