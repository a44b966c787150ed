"""Instance masks and image-level class proposals in the browser."""

import fiftyone as fo
import numpy as np

from tests.browser.helpers import eventually, focus, review_cells, wait_status, wait_widget
from tests.conftest import ARTIFACTS


def test_mask_is_drawn_and_class_decided_with_keys(shapes_dataset, open_notebook):
    ds = shapes_dataset
    sid = ds.first().id
    mask = np.zeros((30, 40), dtype=bool)
    mask[5:25, 5:35] = True
    ds.set_values("predictions", {sid: fo.Detections(detections=[
        fo.Detection(label="circle", bounding_box=[0.2, 0.2, 0.4, 0.4], confidence=0.9,
                     mask=mask)])}, key_field="id")
    ds.set_values("predicted_class", {s: fo.Classification(
        label="indoor", confidence=0.6, scores={"indoor": 0.6, "outdoor": 0.4})
        for s in ds.values("id")}, key_field="id")
    page = open_notebook("masks.ipynb", review_cells(
        ds.name, ds.values("id"), classification_field="predicted_class"))
    wait_widget(page)
    # The mask is decoded, tinted and drawn on the box layer (a canvas): the widget counts it.
    page.wait_for_function(
        "() => document.querySelector('.nblabel-root').dataset.masksDrawn === '1'")
    chips = page.locator(".nblabel-class-chip").all_text_contents()
    assert chips[0].startswith("1. indoor") and chips[1].startswith("2. outdoor")
    focus(page)
    page.keyboard.press("Alt+2")  # replace the class by the second proposal
    page.wait_for_function(
        "() => document.querySelector('.nblabel-classification').dataset.status === 'edited'")
    page.keyboard.press("a")  # accept the masked box
    wait_status(page, 0, "accepted")
    page.screenshot(path=str(ARTIFACTS / "mask-and-class.png"))

    def landed():
        ds.reload()
        s = ds[sid]
        gt = s.ground_truth.detections if s.ground_truth else []
        return (s.ground_truth_class is not None and s.ground_truth_class.label == "outdoor"
                and len(gt) == 1 and gt[0].mask is not None)

    eventually(landed, what="mask and class in FiftyOne")
    assert ds[sid].ground_truth.detections[0].mask.sum() == mask.sum()
    assert "reviewed" in ds[sid].tags
