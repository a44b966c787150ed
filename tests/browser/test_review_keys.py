"""Keyboard review in a real JupyterLab + Chromium, checked in the FiftyOne dataset."""

import time

import fiftyone as fo
from fiftyone import ViewField as F

from tests.conftest import ARTIFACTS


def _cells(dataset_name: str, queue: list[str]) -> list[str]:
    return [
        "import nblabel, fiftyone as fo\n"
        f"ds = fo.load_dataset({dataset_name!r})\n"
        f"w = nblabel.review(ds, queue={queue!r}, reviewer='browser-tester', threshold=0.0)\n"
        "w",
    ]


def _box(page, index):
    return page.locator(f".nblabel-box[data-index='{index}']")


def _wait_status(page, index, status, timeout=15_000):
    page.wait_for_function(
        "([i, s]) => { const b = document.querySelector(`.nblabel-box[data-index='${i}']`);"
        " return b && b.dataset.status === s; }",
        arg=[index, status], timeout=timeout)


def _wait_for_dataset(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the decision did not reach FiftyOne"
        time.sleep(0.2)


def test_accept_and_reject_with_keys_land_in_fiftyone(shapes_dataset, open_notebook):
    ds = shapes_dataset
    queue = ds.values("id")
    first = queue[0]
    proposal_ids = ds[first].predictions.detections
    page = open_notebook("keys.ipynb", _cells(ds.name, queue))
    root = page.locator(".nblabel-root[data-ready='true']")
    root.wait_for(timeout=120_000)
    page.wait_for_function(
        "() => document.querySelectorAll('.nblabel-box').length > 0", timeout=60_000)
    assert page.locator(".nblabel-box").count() == len(proposal_ids)
    # The image bytes were decoded in the browser: the canvas has the image's own size.
    page.wait_for_function("() => document.querySelector('.nblabel-image').width === 320")
    cells_before = page.locator(".jp-Notebook .jp-Cell").count()

    page.locator(".nblabel-progress").click()  # focus the widget
    page.keyboard.press("a")  # accept proposal 0; selection moves on to proposal 1
    _wait_status(page, 0, "accepted")
    page.keyboard.press("r")  # reject proposal 1
    _wait_status(page, 1, "rejected")
    page.screenshot(path=str(ARTIFACTS / "review-widget.png"))

    assert page.locator(".jp-Notebook .jp-Cell").count() == cells_before, \
        "keys went to the notebook (a cell was inserted)"
    # Rows come in reading order: row 0 and row 1 are the first two boxes in that order.
    accepted_id, rejected_id = (_box(page, i).get_attribute("data-key") for i in (0, 1))
    labels = {d.id: d.label for d in proposal_ids}

    def landed():
        acc = ds.filter_labels("predictions", F("review") == "accepted")
        rej = ds.filter_labels("predictions", F("review") == "rejected")
        return (acc.values("predictions.detections.id", unwind=True) == [accepted_id]
                and rej.values("predictions.detections.id", unwind=True) == [rejected_id])

    _wait_for_dataset(landed)
    reviewers = ds.filter_labels("predictions", F("review").exists()).values(
        "predictions.detections.reviewer", unwind=True)
    assert reviewers == ["browser-tester", "browser-tester"]
    gt = ds[first].ground_truth.detections
    assert [(d.label, d.proposal_id) for d in gt] == [(labels[accepted_id], accepted_id)]
    assert ds.count("ground_truth.detections") == 1, "nothing else was decided"

    # Next image with the arrow key: the progress text follows.
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"() => document.querySelector('.nblabel-root').dataset.sampleId === {queue[1]!r}")
    assert "image 2/" in page.locator(".nblabel-progress").inner_text()


def test_broken_image_shows_error_and_review_goes_on(shapes_dataset, open_notebook, tmp_path):
    ds = shapes_dataset
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 definitely not a jpeg")
    (bad,) = ds.add_samples([fo.Sample(filepath=str(broken))])
    ids = ds.values("id")
    queue = [ids[0], bad, ids[1]]
    page = open_notebook("broken.ipynb", _cells(ds.name, queue))
    page.locator(".nblabel-root[data-ready='true']").wait_for(timeout=120_000)
    page.wait_for_function(
        "() => document.querySelectorAll('.nblabel-box').length > 0", timeout=60_000)
    page.locator(".nblabel-progress").click()
    page.keyboard.press("x")
    _wait_status(page, 0, "rejected")
    page.keyboard.press("ArrowRight")
    error = page.locator(".nblabel-error")
    error.wait_for(state="visible", timeout=15_000)
    assert "broken.jpg" in error.inner_text()
    assert page.locator(".nblabel-box").count() == 0
    page.screenshot(path=str(ARTIFACTS / "review-widget-broken-image.png"))
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"() => document.querySelector('.nblabel-root').dataset.sampleId === {ids[1]!r}")
    error.wait_for(state="hidden", timeout=15_000)
    _wait_for_dataset(lambda: ds.filter_labels("predictions", F("review") == "rejected").count(
        "predictions.detections") == 1)
