"""Help that measures itself on real images: the exemplar assistant pays on tissue nuclei
(truth by the documented method of nblabel.demo.real) and steps back on touching tree crowns
(the deepforest wheel's aerial photos, boxes drawn by people), where its proposals cost more to
reject than drawing; either way a round is never slower than drawing by hand."""

import random

import pytest
from PIL import Image

from nblabel.core.cost import CostModel, replay
from nblabel.core.ledger import Ledger
from nblabel.demo.real import CROWN_IMAGES, crowns, nuclei, write_tiles
from nblabel.learning.simulate import SimulatedReviewer
from nblabel.sources import ExemplarSource


def _review_tiles(tiles):
    """The assistant on ``tiles`` one after the other, as the widget runs it: shown only while
    the ledger says it pays; returns the ledger, and the seconds with and without its help
    (ungated: shown whatever it costs)."""
    cost, reviewer, ledger, ex = CostModel(), SimulatedReviewer(threshold=0.3), Ledger(), \
        ExemplarSource()
    gated = ungated = manual = 0.0
    for t in tiles:
        image = Image.open(t.path).convert("RGB")
        truth, pre = list(t.objects), 0.0
        if not ex.exemplars:
            first, truth = truth[:2], truth[2:]
            pre = 2 * cost.draw
            for label, b in first:
                ex.add(image, label, b, others=[b for _, b in first])
        props = ex.propose([image])[0]
        show = (ledger.calibrated("exemplars", props)
                if ledger.shows("exemplars", unmeasured=False) else [])
        gated += reviewer.review(show, truth).seconds(cost) + pre
        ungated += reviewer.review(props, truth).seconds(cost) + pre
        manual += cost.manual_seconds(len(t.objects))
        ledger.record("exemplars", props, truth)
        known = [b for _, b in t.objects]
        for label, b in truth:
            ex.add(image, label, b, others=known)
        ex.add_background(image, known)
        ex.add_negatives(image, [p.box for p in replay(props, truth).rejected], known)
    return ledger, gated, ungated, manual


def test_the_assistant_pays_on_nuclei(tmp_path):
    tiles = write_tiles(nuclei(), tmp_path, 128)
    random.Random(0).shuffle(tiles)
    ledger, gated, _, manual = _review_tiles(tiles[:4])
    verdict = ledger.verdict("exemplars")
    assert verdict.state == "helping" and verdict.saving > 0.3, verdict
    assert gated < 0.8 * manual


def test_the_assistant_steps_back_on_touching_tree_crowns(tmp_path):
    try:
        images = [crowns(name) for name in CROWN_IMAGES]
    except FileNotFoundError as exc:  # scripts/setup.sh downloads the wheel
        pytest.fail(str(exc))
    tiles = [t for image in images for t in write_tiles(image, tmp_path, 416)]
    random.Random(0).shuffle(tiles)  # bench/cold_start.py's first round of this family
    ledger, gated, ungated, manual = _review_tiles(tiles[:4])
    verdict = ledger.verdict("exemplars")
    assert ungated > manual, "shown regardless, its proposals cost more than drawing"
    assert verdict.state == "stepped back" and verdict.saving < 0, verdict
    assert "stepped back" in verdict.reason
    assert gated <= manual, "never slower than by hand"
