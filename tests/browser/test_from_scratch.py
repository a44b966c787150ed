"""Labeling from scratch in the browser (real JupyterLab + Chromium) on a real photo: no
proposals field, a drag draws at once, a class typed in the widget is used for the next box,
and after two drawn coins the widget shows similar coins proposed by the exemplar assistant
(``assist="live"``: shown before it has measured itself on a finished image)."""



from tests.browser.helpers import drag, eventually, focus, review_cells, wait_widget


def _gt(ds):
    ds.reload()
    s = ds.first()
    return s.ground_truth.detections if s.has_field("ground_truth") and s.ground_truth else []


def test_draw_first_new_class_and_exemplar_proposals(coins_photo, open_notebook):
    ds, real = coins_photo
    page = open_notebook("scratch.ipynb", review_cells(ds.name, classes=["coin"], prefetch=0,
                                                       assist="live"))
    wait_widget(page)
    focus(page)
    root = page.locator(".nblabel-root")
    assert root.get_attribute("data-draw-first") == "true"
    # Python's verdict on each source of help, said in the widget: not measured yet.
    source = page.locator(".nblabel-source[data-source='assistant']")
    assert source.get_attribute("data-state") == "unmeasured"
    assert "before it is measured" in source.inner_text()
    first, second = real.boxes[0], real.boxes[7]
    drag(page, (first.x, first.y), (first.x2, first.y2))  # no "b" pressed: drawing is first
    page.wait_for_function("() => document.querySelectorAll('.nblabel-box').length === 1"
                           " && !document.querySelector('.nblabel-root').dataset.saving")
    drag(page, (second.x, second.y), (second.x2, second.y2))
    # The assistant proposes similar coins on this image, in the background.
    page.wait_for_function(
        "() => document.querySelectorAll(\".nblabel-box[data-status='pending']\").length >= 15",
        timeout=60_000)
    assert "similar object(s) proposed" in page.locator(".nblabel-notice").inner_text()
    page.keyboard.press("Shift+A")  # accept every proposal shown
    page.wait_for_function(
        "() => document.querySelectorAll(\".nblabel-box[data-status='pending']\").length === 0"
        " && !document.querySelector('.nblabel-root').dataset.saving")
    # A class typed in the widget becomes the class of the next drawn box.
    page.locator(".nblabel-new-class").fill("rare coin")
    page.locator(".nblabel-new-class").press("Enter")
    page.wait_for_function("() => [...document.querySelectorAll('.nblabel-class-select option')]"
                           ".some((o) => o.value === 'rare coin')")
    assert page.locator(".nblabel-class-select").input_value() == "rare coin"
    drag(page, (150, 120), (175, 140))  # still drawing: a drag draws
    page.wait_for_function(
        "() => document.querySelector(\".nblabel-box[data-label='rare coin']\")"
        " && !document.querySelector('.nblabel-root').dataset.saving")
    eventually(lambda: len(_gt(ds)) >= 18, 30, "drawn and accepted coins in FiftyOne")
    assert {d.label for d in _gt(ds)} == {"coin", "rare coin"}
