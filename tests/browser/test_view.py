"""Help overlay, proposal mode and full resolution on zoom, in the browser."""

import fiftyone as fo
from PIL import Image

from tests.browser.helpers import focus, review_cells, scale, to_client, wait_widget


def test_help_and_proposal_mode(shapes_dataset, open_notebook):
    ds = shapes_dataset
    page = open_notebook("modes.ipynb", review_cells(ds.name, ds.values("id")))
    wait_widget(page)
    focus(page)
    help_box = page.locator(".nblabel-help")
    assert not help_box.is_visible()
    page.keyboard.press("?")
    help_box.wait_for(state="visible")
    assert "Ctrl+z\nundo" in help_box.inner_text()
    page.keyboard.press("Escape")
    help_box.wait_for(state="hidden")
    fitted = scale(page)
    page.keyboard.press("m")
    page.wait_for_function(
        "() => document.querySelector('.nblabel-root').dataset.mode === 'proposal'")
    page.wait_for_function(
        "s => Number(document.querySelector('.nblabel-root').dataset.scale) > s", arg=fitted)
    # The selected box is in the middle of the stage.
    x, y, w, h = map(float, page.locator(".nblabel-box.nblabel-selected").get_attribute(
        "data-box").split(","))
    stage = page.locator(".nblabel-stage").bounding_box()
    cx, cy = to_client(page, x + w / 2, y + h / 2)
    assert abs(cx - (stage["x"] + stage["width"] / 2)) < 3
    assert abs(cy - (stage["y"] + stage["height"] / 2)) < 3
    page.keyboard.press("m")
    page.wait_for_function(
        "s => Math.abs(Number(document.querySelector('.nblabel-root').dataset.scale) - s) < 1e-6",
        arg=fitted)


def test_large_image_preview_then_full_resolution_on_zoom(open_notebook, tmp_path):
    path = tmp_path / "large.jpg"
    Image.new("RGB", (6000, 4000), (90, 120, 150)).save(path, quality=70)
    ds = fo.Dataset()
    ds.add_sample(fo.Sample(filepath=str(path), predictions=fo.Detections(detections=[
        fo.Detection(label="thing", bounding_box=[0.5, 0.5, 0.01, 0.01], confidence=0.9)])))
    try:
        page = open_notebook("large.ipynb", review_cells(ds.name))
        wait_widget(page)
        canvas = page.locator(".nblabel-image")
        assert canvas.evaluate("c => c.width") <= 2560, "a preview first"
        focus(page)
        for _ in range(12):
            page.keyboard.press("+")
        page.wait_for_function(
            "() => document.querySelector('.nblabel-root').dataset.fullRes === 'true'",
            timeout=30_000)
        assert canvas.evaluate("c => c.width") == 6000
    finally:
        ds.delete()
