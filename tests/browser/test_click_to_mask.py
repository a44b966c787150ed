"""Click to mask in the browser (real JupyterLab + Chromium) on the coins photo: s, a click on a
coin, the mask is painted over the image, a second click refines it, Enter keeps it, and the
mask lands in FiftyOne matching the coin's true mask (nblabel.demo.real)."""


import numpy as np

from nblabel.core.labels import Box, ImageSize
from nblabel.core.masks import editable_polygon, full_mask
from tests.browser.helpers import eventually, focus, review_cells, to_client, wait_widget


def _click(page, x, y, shift=False):
    cx, cy = to_client(page, x, y)
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(cx, cy)
    if shift:
        page.keyboard.up("Shift")


def _wait_mask(page, req_before):
    page.wait_for_function(
        "(r) => { const d = document.querySelector('.nblabel-root').dataset;"
        " return d.maskReq && Number(d.maskReq) > r && !d.maskPending; }",
        arg=req_before, timeout=30_000)
    return int(page.locator(".nblabel-root").get_attribute("data-mask-req"))


def test_click_to_mask_then_keep_it(coins_photo, open_notebook):
    ds, real = coins_photo
    page = open_notebook("click.ipynb", review_cells(ds.name, classes=["coin"], assist=False))
    wait_widget(page)
    focus(page)
    page.keyboard.press("s")
    root = page.locator(".nblabel-root")
    assert root.get_attribute("data-segmenting") == "true"
    k = 5
    b = real.boxes[k]
    _click(page, b.x + b.w / 2, b.y + b.h / 2)
    req = _wait_mask(page, 0)
    assert root.get_attribute("data-mask-error") is None
    # A negative click outside the coin refines (the answer to the latest prompt is shown).
    _click(page, b.x2 + 6, b.y2 + 6, shift=True)
    _wait_mask(page, req)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector(\".nblabel-box[data-status='added']\")"
                           " && !document.querySelector('.nblabel-root').dataset.saving")
    eventually(lambda: _gt(ds), 30, "the mask in FiftyOne")
    (det,) = _gt(ds)
    size = ImageSize(384, 303)
    got = full_mask(det.mask, Box.from_relative(det.bounding_box, size), size)
    truth = real.mask(k)
    iou = np.logical_and(got, truth).sum() / np.logical_or(got, truth).sum()
    assert iou > 0.85, iou
    assert det.label == "coin"
    # Brush: e, a drag to the right of the coin paints; sent once on release, one decision.
    area = int((det.mask > 0).sum())
    page.keyboard.press("Escape")  # leave click to mask
    page.keyboard.press("e")
    assert root.get_attribute("data-brushing") == "true"
    cy = b.y + b.h / 2
    sx, sy = to_client(page, b.x2 - 3, cy)
    ex, ey = to_client(page, b.x2 + 15, cy)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(ex, ey, steps=6)
    page.mouse.up()
    eventually(lambda: _gt(ds) and int((_gt(ds)[0].mask > 0).sum()) > area + 30, 30,
               "the painted mask in FiftyOne")
    # Polygon: g shows the mask's outline; dragging its rightmost corner 20 px further right
    # is one edit, filled into the mask by Python.
    page.keyboard.press("Escape")  # leave the brush
    page.keyboard.press("g")
    page.wait_for_function("() => Number(document.querySelector('.nblabel-root')"
                           ".dataset.polygonPoints) >= 3", timeout=30_000)
    (det,) = _gt(ds)
    box = Box.from_relative(det.bounding_box, size)
    painted = full_mask(det.mask, box, size)
    x, y = max(editable_polygon(painted), key=lambda p: p[0])
    sx, sy = to_client(page, x, y)
    ex, ey = to_client(page, x + 20, y)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(ex, ey, steps=5)
    page.mouse.up()
    eventually(lambda: Box.from_relative(_gt(ds)[0].bounding_box, size).x2 >= x + 18, 30,
               "the polygon's new corner in FiftyOne")
    assert root.get_attribute("data-polygon"), "editing goes on after an edit"
    page.keyboard.press("Escape")
    assert root.get_attribute("data-polygon") == ""


def _gt(ds):
    ds.reload()
    s = ds.first()
    return s.ground_truth.detections if s.has_field("ground_truth") and s.ground_truth else []
