"""Dense scenes in the browser: 2,000 boxes on a 1920x1080 image (real JupyterLab + Chromium).

Multi-selection decided as one step, Tab in reading order, labels by level of detail, hiding
decided boxes, and the editing interactions (move, resize, draw, exact coordinates after zoom)
with 2,000 boxes on the image. The rows' order and the selection come from Python
(``nblabel.reviewing.image.rows``); the browser draws boxes on canvases, so the test reads the list
rows (``.nblabel-box``) and the counts the widget writes (``data-boxes-drawn``,
``data-labels-drawn``, ``data-multi``).
"""

from __future__ import annotations

from collections.abc import Iterator

import fiftyone as fo
import pytest

from nblabel.core.labels import Box, ImageSize
from nblabel.demo.synthetic import make_dense
from nblabel.reviewing.image.rows import reading_order
from tests.browser.helpers import (
    drag,
    eventually,
    focus,
    review_cells,
    scale,
    to_client,
    wait_widget,
)
from tests.conftest import ARTIFACTS

SIZE = ImageSize(1920, 1080)
N = 2000


@pytest.fixture
def dense(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[fo.Dataset, list[Box]]]:
    items = make_dense(tmp_path_factory.mktemp("dense"), 2, (SIZE.width, SIZE.height), N, seed=4)
    ds = fo.Dataset()
    samples = []
    for path, boxes in items:
        dets = [fo.Detection(label=("cell", "nucleus")[k % 2],
                             bounding_box=b.to_relative(SIZE),
                             confidence=0.5 + 0.5 * ((k * 37) % 100) / 100)
                for k, b in enumerate(boxes)]
        samples.append(fo.Sample(filepath=str(path), predictions=fo.Detections(detections=dets)))
    ds.add_samples(samples, progress=False)
    yield ds, items[0][1]
    ds.delete()


def _open(open_notebook, ds, name):
    page = open_notebook(name, review_cells(ds.name, ds.values("id")))
    wait_widget(page)
    focus(page)
    return page


def _root(page, attr):
    return page.locator(".nblabel-root").get_attribute(f"data-{attr}")


def _selected(page):
    return page.locator(".nblabel-box.nblabel-selected").get_attribute("data-key")


def _wait_idle(page):
    page.wait_for_function("() => !document.querySelector('.nblabel-root').dataset.saving")


def _reviews(ds, sid):
    ds.reload()
    return {d.id: (d["review"] if d.has_field("review") else None)
            for d in ds[sid].predictions.detections}


def test_rubber_band_then_accept_is_one_step(dense, open_notebook):
    ds, boxes = dense
    sid = ds.first().id
    page = _open(open_notebook, ds, "dense-band.ipynb")
    assert _root(page, "boxes-drawn") == str(N), "every box drawn at fit zoom"
    # Shift+drag a rectangle: the boxes wholly inside it are selected.
    x0, y0, x1, y1 = 300, 200, 520, 330
    inside = {i for i, b in enumerate(boxes)
              if b.x >= x0 and b.y >= y0 and b.x + b.w <= x1 and b.y + b.h <= y1}
    assert 10 < len(inside) < 200
    page.keyboard.down("Shift")
    drag(page, (x0, y0), (x1, y1))
    page.keyboard.up("Shift")
    page.wait_for_function(f"() => document.querySelector('.nblabel-root').dataset.multi === "
                           f"'{len(inside)}'")
    page.screenshot(path=str(ARTIFACTS / "dense-band.png"))
    ids = [d.id for d in ds[sid].predictions.detections]
    chosen = {ids[i] for i in inside}
    page.keyboard.press("a")
    _wait_idle(page)
    eventually(lambda: {k for k, v in _reviews(ds, sid).items() if v == "accepted"} == chosen,
               what="the selection accepted in FiftyOne")
    # The decided boxes, zoomed in, the next rectangle selected (a picture in docs/reviewing.md).
    cx, cy = to_client(page, (x0 + x1) / 2, (y0 + y1) / 2)
    page.mouse.move(cx, cy)
    for _ in range(3):
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(100)
    page.wait_for_timeout(300)
    page.keyboard.down("Shift")
    drag(page, (x1 - 40, y0 + 60), (x1 + 30, y1 + 10))
    page.keyboard.up("Shift")
    page.wait_for_timeout(300)
    page.locator(".nblabel-root").screenshot(path=str(ARTIFACTS / "dense-review.png"))
    page.keyboard.press("Escape")
    # One undo step brings them all back.
    page.keyboard.press("Control+z")
    _wait_idle(page)
    eventually(lambda: all(v is None for v in _reviews(ds, sid).values()),
               what="all of them undone by one undo")


def test_tab_walks_in_reading_order(dense, open_notebook):
    ds, boxes = dense
    page = _open(open_notebook, ds, "dense-tab.ipynb")
    dets = ds.first().predictions.detections
    order = [dets[i].id for i in reading_order([b.as_list() for b in boxes])]
    assert _selected(page) == order[0], "the first box in reading order is selected first"
    seen = []
    for _ in range(8):
        page.keyboard.press("Tab")
        page.wait_for_function(
            "k => document.querySelector('.nblabel-box.nblabel-selected')?.dataset.key !== k",
            arg=seen[-1] if seen else order[0])
        seen.append(_selected(page))
    assert seen == order[1:9]
    page.keyboard.press("Shift+Tab")
    page.wait_for_function(
        "k => document.querySelector('.nblabel-box.nblabel-selected')?.dataset.key === k",
        arg=order[7])
    # Accepting moves on to the next pending box in reading order (Python decides).
    page.keyboard.press("a")
    _wait_idle(page)
    page.wait_for_function(
        "k => document.querySelector('.nblabel-box.nblabel-selected')?.dataset.key === k",
        arg=order[8])


def test_labels_by_level_of_detail_and_hide_decided(dense, open_notebook):
    ds, boxes = dense
    page = _open(open_notebook, ds, "dense-lod.ipynb")
    assert _root(page, "labels-drawn") == "0", "at fit zoom labels would hide the image"
    page.locator(".nblabel-root").screenshot(path=str(ARTIFACTS / "dense-fit.png"))
    b = boxes[N // 2]
    cx, cy = to_client(page, b.x + b.w / 2, b.y + b.h / 2)
    page.mouse.move(cx, cy)
    for _ in range(6):
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(50)
    page.wait_for_function(
        "() => Number(document.querySelector('.nblabel-root').dataset.labelsDrawn) > 0")
    assert scale(page) > 3
    page.locator(".nblabel-root").screenshot(path=str(ARTIFACTS / "dense-zoomed.png"))
    # Zoomed in: the minimap shows where we are; a click on it moves the view there.
    minimap = page.locator(".nblabel-minimap[data-visible='true']")
    minimap.wait_for()
    before = page.locator(".nblabel-world").bounding_box()
    mm = minimap.bounding_box()
    page.mouse.click(mm["x"] + 5, mm["y"] + 5)  # the top-left corner of the image
    page.wait_for_function(
        "x => document.querySelector('.nblabel-world').getBoundingClientRect().x > x",
        arg=before["x"] + 100)
    page.keyboard.press("0")  # fit again: labels and the minimap go
    page.wait_for_function(
        "() => document.querySelector('.nblabel-root').dataset.labelsDrawn === '0'")
    page.locator(".nblabel-minimap[data-visible='false']").wait_for(state="attached")
    page.keyboard.press("l")  # all labels on request
    page.wait_for_function(
        "() => Number(document.querySelector('.nblabel-root').dataset.labelsDrawn) > 0")
    page.keyboard.press("l")
    # Hide decided: accept 3 boxes, then h leaves N - 3 boxes drawn; h again shows them.
    for _ in range(3):
        page.keyboard.press("a")
        _wait_idle(page)
    page.keyboard.press("h")
    page.wait_for_function(
        f"() => document.querySelector('.nblabel-root').dataset.boxesDrawn === '{N - 3}'")
    assert _root(page, "hide-decided") == "true"
    page.keyboard.press("h")
    page.wait_for_function(
        f"() => document.querySelector('.nblabel-root').dataset.boxesDrawn === '{N}'")
    # One class only: the selected box's class.
    page.keyboard.press("o")
    page.wait_for_function(
        f"() => document.querySelector('.nblabel-root').dataset.boxesDrawn === '{N // 2}'")


def test_editing_among_2000_boxes_keeps_exact_pixels(dense, open_notebook):
    ds, _ = dense
    sid = ds.first().id
    page = _open(open_notebook, ds, "dense-edit.ipynb")
    # Click a box in the middle of the image: the smallest box under the pointer is selected.
    dets = ds[sid].predictions.detections
    det = dets[N // 2 + 20]
    x, y, w, h = Box.from_relative(det.bounding_box, SIZE).as_list()
    page.mouse.click(*to_client(page, x + w / 2, y + h / 2))
    page.wait_for_function(
        "k => document.querySelector('.nblabel-box.nblabel-selected')?.dataset.key === k",
        arg=det.id)
    # Zoom on the selected box (the wheel keeps the point under the mouse in place).
    cx, cy = to_client(page, x + w / 2, y + h / 2)
    page.mouse.move(cx, cy)
    for _ in range(5):
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(50)
    zoomed = scale(page)
    assert zoomed > 2
    # Resize by the bottom-right handle, then move the body.
    drag(page, (x + w, y + h), (x + w + 3, y + h + 2))
    _wait_idle(page)
    drag(page, (x + w / 2, y + h / 2), (x + w / 2 + 4, y + h / 2 - 3))
    _wait_idle(page)
    tol = 1.0 / zoomed + 0.01

    exp = Box(x + 4, y - 3, w + 3, h + 2).as_list()

    def edited() -> bool:  # both edits synced (the sync runs behind the journal)
        ds.reload()
        gt = ds[sid].ground_truth
        if gt is None or len(gt.detections) != 1:
            return False
        got = Box.from_relative(gt.detections[0].bounding_box, SIZE).as_list()
        return all(abs(a - e) <= tol for a, e in zip(got, exp, strict=True))

    eventually(edited, what=f"the resized and moved box {exp} in FiftyOne")
    assert ds[sid].ground_truth.detections[0].review == "edited"
    # Draw a box (key b), among the others.
    page.keyboard.press("b")
    bx, by = x + w / 2 - 2, y + h / 2 - 2
    drag(page, (bx, by), (bx + 6, by + 5))
    _wait_idle(page)
    def drawn() -> bool:
        ds.reload()
        return len(ds[sid].ground_truth.detections) == 2

    eventually(drawn, what="the drawn box in FiftyOne")
    (added,) = [d for d in ds[sid].ground_truth.detections if d.review == "added"]
    for a, e in zip(Box.from_relative(added.bounding_box, SIZE).as_list(), [bx, by, 6, 5],
                    strict=True):
        assert a == pytest.approx(e, abs=tol)
