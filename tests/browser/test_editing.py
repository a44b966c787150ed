"""Editing in the browser (real JupyterLab + Chromium), checked in FiftyOne in image pixels."""

import fiftyone as fo
import pytest

from nblabel.core.labels import Box, ImageSize
from tests.browser.helpers import (
    drag,
    eventually,
    focus,
    review_cells,
    row_key,
    scale,
    to_client,
    wait_status,
    wait_widget,
)
from tests.conftest import ARTIFACTS

SIZE = ImageSize(320, 240)


def _gt(ds, sid):
    ds.reload()  # the kernel, another process, may have added the field
    if not ds.has_sample_field("ground_truth"):
        return []
    gt = ds[sid].ground_truth
    return gt.detections if gt else []


def _review(det):
    return det["review"] if det.has_field("review") else None


def _box(det):
    return Box.from_relative(det.bounding_box, SIZE)


def _selected_proposal(page, ds, sid):
    """The proposal the widget selects first (the first pending box in reading order)."""
    key = page.locator(".nblabel-box.nblabel-selected").get_attribute("data-key")
    return next(d for d in ds[sid].predictions.detections if d.id == key)


def _open(open_notebook, ds, name, **kw):
    queue = ds.values("id")
    page = open_notebook(name, review_cells(ds.name, queue, **kw))
    wait_widget(page)
    focus(page)
    return page, queue


def test_drag_handle_then_move_box_saves_pixels(shapes_dataset, open_notebook):
    ds = shapes_dataset
    page, queue = _open(open_notebook, ds, "drag.ipynb")
    sid = queue[0]
    proposal = _selected_proposal(page, ds, sid)
    x, y, w, h = Box.from_relative(proposal.bounding_box, SIZE).as_list()
    # Resize: the bottom-right handle 20 px right and 10 px down.
    drag(page, (x + w, y + h), (x + w + 20, y + h + 10))
    wait_status(page, proposal.id, "edited")
    tol = 1.0 / scale(page) + 0.01
    eventually(lambda: len(_gt(ds, sid)) == 1, what="the edit in FiftyOne")
    got = _box(_gt(ds, sid)[0])
    assert got.x == pytest.approx(x, abs=tol) and got.y == pytest.approx(y, abs=tol)
    assert got.w == pytest.approx(min(w + 20, 320 - x), abs=tol)
    assert got.h == pytest.approx(min(h + 10, 240 - y), abs=tol)
    assert _gt(ds, sid)[0].review == "edited"
    page.screenshot(path=str(ARTIFACTS / "edit-resize.png"))


def test_zoom_in_then_move_box_keeps_exact_coordinates(shapes_dataset, open_notebook):
    ds = shapes_dataset
    page, queue = _open(open_notebook, ds, "zoom.ipynb")
    sid = queue[0]
    proposal = _selected_proposal(page, ds, sid)
    x, y, w, h = Box.from_relative(proposal.bounding_box, SIZE).as_list()
    before = scale(page)
    # Zoom with the wheel over the box centre (that point stays put, so the box stays in view
    # wherever it is on the image), twice.
    cx, cy = to_client(page, x + w / 2, y + h / 2)
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -300)
    page.wait_for_function(
        "s => Number(document.querySelector('.nblabel-root').dataset.scale) > s", arg=before)
    page.mouse.wheel(0, -200)
    page.wait_for_function(
        "s => Number(document.querySelector('.nblabel-root').dataset.scale) > s",
        arg=before * 1.5)
    zoomed = scale(page)
    # Move the box body by (7, -4) image pixels.
    drag(page, (x + w / 2, y + h / 2), (x + w / 2 + 7, y + h / 2 - 4))
    wait_status(page, proposal.id, "edited")
    tol = 1.0 / zoomed + 0.01
    eventually(lambda: len(_gt(ds, sid)) == 1, what="the move in FiftyOne")
    got = _box(_gt(ds, sid)[0])
    exp = Box(x + 7, y - 4, w, h).clipped(SIZE)
    for a, b in zip(got.as_list(), exp.as_list(), strict=True):
        assert a == pytest.approx(b, abs=tol)
    assert tol < 0.5, "the zoom made the test more exact than one image pixel"


def test_draw_a_missing_box(shapes_dataset, open_notebook):
    ds = shapes_dataset
    page, queue = _open(open_notebook, ds, "draw.ipynb")
    sid = queue[0]
    n = page.locator(".nblabel-box").count()
    page.select_option(".nblabel-class-select", "triangle")
    focus(page)
    page.keyboard.press("b")
    drag(page, (200, 150), (260, 200))
    page.wait_for_function(f"() => document.querySelectorAll('.nblabel-box').length === {n + 1}")
    wait_status(page, n, "added")
    tol = 1.0 / scale(page) + 0.01
    eventually(lambda: any(d.review == "added" for d in _gt(ds, sid)), what="the drawn box")
    (added,) = [d for d in _gt(ds, sid) if d.review == "added"]
    assert added.label == "triangle"
    for a, b in zip(_box(added).as_list(), [200, 150, 60, 50], strict=True):
        assert a == pytest.approx(b, abs=tol)


def test_undo_redo_with_keys(shapes_dataset, open_notebook):
    ds = shapes_dataset
    page, queue = _open(open_notebook, ds, "undo.ipynb")
    sid = queue[0]
    first = row_key(page, 0)
    page.keyboard.press("a")
    wait_status(page, 0, "accepted")
    page.keyboard.press("Control+z")
    wait_status(page, 0, "pending")
    page.keyboard.press("Control+Shift+z")
    wait_status(page, 0, "accepted")
    page.keyboard.press("Control+z")
    wait_status(page, 0, "pending")
    page.keyboard.press("r")
    wait_status(page, 0, "rejected")

    def final():
        ds.reload()  # another process (the kernel) writes
        dets = {d.id: d for d in ds[sid].predictions.detections}
        return _review(dets[first]) == "rejected" and _gt(ds, sid) == []

    eventually(final, what="journal and FiftyOne in the final state")


def test_threshold_and_accept_all_visible(shapes_dataset, open_notebook):
    ds = shapes_dataset
    page, queue = _open(open_notebook, ds, "threshold.ipynb")
    sid = queue[0]
    for _ in range(10):  # 0.00 -> 0.50
        page.keyboard.press("]")
    page.wait_for_function("() => document.querySelector('.nblabel-threshold-value')"
                           ".textContent.includes('0.50')")
    dets = ds[sid].predictions.detections
    below = [i for i, d in enumerate(dets) if d.confidence < 0.5]
    assert below, "the fixture has a low-confidence box"
    for i in below:  # Python decides visibility and sends the rows again
        page.locator(f".nblabel-box.nblabel-below[data-key='{dets[i].id}']").wait_for(
            state="attached")
    page.keyboard.press("Shift+A")
    expected = {d.id: ("accepted" if d.confidence >= 0.5 else None) for d in dets}
    def reviews():
        ds.reload()
        return {d.id: _review(d) for d in ds[sid].predictions.detections}

    eventually(lambda: reviews() == expected,
               what="accept-all in FiftyOne")


def test_change_class_with_number_key(shapes_dataset, open_notebook):
    ds = shapes_dataset
    page, queue = _open(open_notebook, ds, "relabel.ipynb")
    sid = queue[0]
    page.keyboard.press("2")  # classes are circle, square, triangle
    page.wait_for_function(
        "() => document.querySelector(\".nblabel-box[data-index='0']\").dataset.label === 'square'")
    wait_status(page, 0, "edited")
    eventually(lambda: [(d.label, d.review) for d in _gt(ds, sid)] == [("square", "edited")],
               what="the new class in FiftyOne")
    assert _gt(ds, sid)[0].proposal_id == row_key(page, 0)


def test_html_in_class_name_is_shown_as_text(open_notebook, tmp_path):
    from nblabel.demo.synthetic import make_shapes

    (img,) = make_shapes(tmp_path, 1, seed=5)
    evil = "<img src=x onerror=alert(1)>"
    ds = fo.Dataset()
    ds.add_sample(fo.Sample(filepath=str(img.path), predictions=fo.Detections(detections=[
        fo.Detection(label=evil, bounding_box=[0.1, 0.1, 0.3, 0.3], confidence=0.8)])))
    dialogs = []
    try:
        page = open_notebook("xss.ipynb", review_cells(ds.name))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        wait_widget(page)
        label = page.locator(".nblabel-box-label").first
        assert evil in label.text_content()
        assert page.locator(".nblabel-root img[src='x']").count() == 0
        assert evil in page.locator(".nblabel-info").inner_text()
        options = page.locator(".nblabel-class-select option").all_text_contents()
        assert any(evil in o for o in options)
        page.wait_for_timeout(500)
        assert dialogs == [], "no script ran"
    finally:
        ds.delete()


def test_reload_keeps_state(shapes_dataset, open_notebook):
    ds = shapes_dataset
    page, queue = _open(open_notebook, ds, "reload.ipynb")
    page.keyboard.press("r")
    wait_status(page, 0, "rejected")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"() => document.querySelector('.nblabel-root').dataset.sampleId === {queue[1]!r}")
    page.keyboard.press("a")
    wait_status(page, 0, "accepted")
    eventually(lambda: len(_gt(ds, queue[1])) == 1, what="the accept in FiftyOne")
    # Save (as JupyterLab's autosave would), so the output with the widget is on disk; the
    # widget's state itself comes back from the kernel's traitlets.
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(1000)
    page.reload()
    wait_widget(page)
    assert page.locator(".nblabel-root").get_attribute("data-sample-id") == queue[1]
    wait_status(page, 0, "accepted")
    assert "image 2/" in page.locator(".nblabel-progress").inner_text()
    page.screenshot(path=str(ARTIFACTS / "after-reload.png"))
    focus(page)
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        f"() => document.querySelector('.nblabel-root').dataset.sampleId === {queue[0]!r}")
    wait_status(page, 0, "rejected")
