"""The simulated reviewer's decisions and the cost model."""

import pytest

from nblabel.core.labels import Box, Proposal
from nblabel.learning.simulate import CostModel, SimulatedReviewer

TRUTH = [("circle", Box(10, 10, 40, 40)), ("square", Box(100, 100, 50, 50)),
         ("triangle", Box(200, 20, 30, 30)), ("circle", Box(250, 150, 20, 20))]


def test_accept_edit_reject_draw():
    proposals = [
        Proposal("circle", Box(11, 10, 40, 40), 0.9),      # IoU ~0.95, right class: accept
        Proposal("circle", Box(100, 100, 50, 50), 0.8),    # right object, wrong class: edit
        Proposal("triangle", Box(200, 20, 30, 45), 0.7),   # right object, poor fit: edit
        Proposal("square", Box(12, 10, 40, 40), 0.6),      # duplicate of a matched one: reject
        Proposal("square", Box(300, 200, 10, 10), 0.5),    # nothing there: reject
        Proposal("circle", Box(250, 150, 20, 20), 0.1),    # below the threshold: hidden
    ]
    review = SimulatedReviewer(threshold=0.25).review(proposals, TRUTH)
    assert [p.confidence for p in review.accepted] == [0.9]
    assert [(p.confidence, label) for p, label, _ in review.edited] == [
        (0.8, "square"), (0.7, "triangle")]
    assert all(box == TRUTH[i][1] for (_, _, box), i in zip(review.edited, (1, 2), strict=True))
    assert [p.confidence for p in review.rejected] == [0.6, 0.5]
    assert review.drawn == [TRUTH[3]] and review.hidden == 1
    assert review.actions == 6
    cost = CostModel()
    assert review.seconds(cost) == pytest.approx(1 + 1 * 1 + 2 * 4 + 2 * 1 + 1 * 7)
    assert cost.manual_seconds(len(TRUTH)) == pytest.approx(1 + 4 * 7)
    labels = review.labels()
    assert sorted(label for label, _ in labels) == sorted(label for label, _ in TRUTH)


def test_perfect_and_empty():
    perfect = [Proposal(label, box, 0.9) for label, box in TRUTH]
    review = SimulatedReviewer().review(perfect, TRUTH)
    assert len(review.accepted) == 4 and review.actions == 4
    nothing = SimulatedReviewer().review([], [])
    assert nothing.actions == 0 and nothing.seconds(CostModel()) == 1.0
    assert SimulatedReviewer().review([], TRUTH).drawn == TRUTH
