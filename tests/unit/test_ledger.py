"""Help measures itself: the cost replay, the calibration and the ledger's verdicts."""

import numpy as np
import pytest

from nblabel.core.cost import CostModel, replay
from nblabel.core.labels import Box, Proposal
from nblabel.core.ledger import Calibration, Ledger
from nblabel.core.rules import shown


def _truth(n: int) -> list[tuple[str, Box]]:
    return [("cell", Box(30.0 * i, 10.0, 20.0, 20.0)) for i in range(n)]


def _hits(truth, conf=0.9, source="model"):
    return [Proposal(label, b, conf, source=source) for label, b in truth]


def _misses(n: int, conf=0.5, source="model"):
    return [Proposal("cell", Box(30.0 * i, 200.0, 20.0, 20.0), conf, source=source)
            for i in range(n)]


def test_replay_prices_accepts_edits_rejects_and_draws():
    truth = _truth(4)
    props = [Proposal("cell", truth[0][1], 0.9),  # accept
             Proposal("cell", Box(30.0, 10.0, 20.0, 10.0), 0.8),  # IoU 0.5: edit
             Proposal("cell", Box(500.0, 500.0, 10.0, 10.0), 0.7)]  # reject
    review = replay(props, truth)
    assert (len(review.accepted), len(review.edited), len(review.rejected), len(review.drawn)) \
        == (1, 1, 1, 2)
    assert review.seconds(CostModel()) == 1 + 1 + 4 + 1 + 2 * 7
    assert review.ious == pytest.approx([1.0, 0.5])


def test_calibration_is_increasing_and_needs_evidence_to_hide():
    conf = np.linspace(0.05, 0.95, 100)
    hit = conf > 0.5
    secs = np.where(hit, 6.0, -1.0)
    cal = Calibration.fit(conf, hit, secs, prior_seconds=2.5)
    assert np.all(np.diff(cal.hits) >= 0) and np.all(np.diff(cal.seconds) >= 0)
    assert 0.3 < cal.floor() < 0.55, "shown from where a proposal pays"
    assert cal.hit_rate(0.9) > 0.8 and cal.hit_rate(0.1) < 0.2
    few = Calibration.fit([0.2, 0.9], [False, True], [-1.0, 6.0], prior_seconds=2.5)
    assert few.floor() == 0.0, "one miss is not evidence enough to hide a confidence"


def test_a_source_that_costs_more_than_drawing_steps_back_and_comes_back():
    ledger = Ledger(window=2)
    truth = _truth(5)
    assert ledger.verdict("model").state == "unmeasured"
    assert ledger.shows("model") and not ledger.shows("model", unmeasured=False)
    # Mostly noise: 1 hit and 40 misses per image, at the same confidence as the hit.
    for _ in range(2):
        v = ledger.record("model", _hits(truth[:1], 0.5) + _misses(40), truth)
    assert v.state == "stepped back" and v.saving < 0, v
    assert "would cost" in v.reason and "stepped back" in v.reason
    assert ledger.floor("model") > 1.0
    assert not shown(0.99, "model", 0.0, ledger.floors()), "hidden, whatever its confidence"
    assert ledger.choose(["model"]) is None
    # Hidden, it is still measured; two good images later it helps again.
    for _ in range(2):
        v = ledger.record("model", _hits(truth), truth)
    assert v.state == "helping" and v.saving > 0.5 and v.precision == 1.0 and v.recall == 1.0
    assert ledger.choose(["model", "other"]) == "model"


def test_the_calibrated_floor_drops_only_what_does_not_pay():
    ledger = Ledger(window=4)
    truth = _truth(6)
    for _ in range(4):  # confident hits, and many low-confidence misses
        ledger.record("model", _hits(truth, 0.9) + _misses(30, 0.1), truth)
    v = ledger.verdict("model")
    assert v.state == "helping" and 0.1 < v.floor < 0.9, v
    kept = ledger.calibrated("model", _hits(truth, 0.9) + _misses(30, 0.1))
    assert len(kept) == 6 and all(p.confidence == 0.9 for p in kept), "raw confidences kept"
    assert v.precision == 1.0, "the verdict prices what would be shown now"
    assert ledger.hit_rate("model", 0.9) > 0.8 > 0.2 > ledger.hit_rate("model", 0.1)


def test_choose_prefers_the_source_that_saves_most():
    ledger = Ledger()
    truth = _truth(4)
    ledger.record("assistant", _hits(truth[:2], source="assistant"), truth)
    ledger.record("model", _hits(truth), truth)
    assert ledger.choose(["assistant", "model"]) == "model"
    assert set(ledger.status()) == {"assistant", "model"}


def test_a_model_proposes_after_a_round_only_when_it_pays_more_than_the_assistant():
    from nblabel.learning.choice import choose

    truth = _truth(5)
    ledger = Ledger()
    good = ledger.record("round-2", _hits(truth), truth)
    ledger.record("assistant", _hits(truth[:2], source="assistant"), truth)
    fair = ledger.verdict("assistant")
    go, why = choose(good, fair)
    assert go and "saves" in why
    bad = ledger.record("round-3", _misses(30), truth)
    go, why = choose(bad, fair)
    assert not go and "would cost" in why
    go, why = choose(fair, good)  # the help already on screen saves more: it stays
    assert not go and "stay" in why
    go, why = choose(Ledger().verdict("round-4"), None)
    assert not go and "no held-out" in why
