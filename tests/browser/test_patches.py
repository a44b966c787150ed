"""Evaluation patches reviewed in the widget, in JupyterLab."""

import fiftyone as fo

from tests.browser.helpers import eventually, focus, wait_status, wait_widget
from tests.conftest import ARTIFACTS


def test_false_positives_outlined_and_misses_drawn(shapes_dataset, open_notebook):
    ds = shapes_dataset
    # Imported truth: the real objects (every proposal but the spurious one), plus one object
    # on the first image that the model missed.
    truth = {}
    for sid, dets in zip(*ds.values(["id", "predictions"]), strict=True):
        real = [fo.Detection(label=d.label, bounding_box=d.bounding_box)
                for d in dets.detections if d.confidence > 0.25]
        truth[sid] = real
    first = ds.first().id
    truth[first].append(fo.Detection(label="triangle", bounding_box=[0.6, 0.6, 0.2, 0.2]))
    ds.set_values("ground_truth", {s: fo.Detections(detections=d) for s, d in truth.items()},
                  key_field="id")
    spurious = {d.id for d in ds.first().predictions.detections if d.confidence < 0.25}

    page = open_notebook("patches.ipynb", [
        "import nblabel, fiftyone as fo\n"
        "from fiftyone import ViewField as F\n"
        "from nblabel.curation.evaluation import evaluate\n"
        f"ds = fo.load_dataset({ds.name!r})\n"
        "evaluate(ds, only_reviewed=False)\n"
        "patches = ds.to_evaluation_patches('nblabel_eval').match(F('type') != 'tp')\n"
        "w = nblabel.review(patches, reviewer='browser-tester')\n"
        "w",
    ])
    wait_widget(page)
    root = page.locator(".nblabel-root")
    assert root.get_attribute("data-painted-sample") == first
    page.locator(".nblabel-reference-missed").wait_for(state="attached")
    assert page.locator(".nblabel-reference-missed").count() == 1
    assert page.locator(".nblabel-reference-missed").get_attribute("data-label") == "triangle"
    outlined = page.locator(".nblabel-box.nblabel-focus")
    assert {outlined.nth(i).get_attribute("data-key") for i in range(outlined.count())} \
        == spurious
    assert "missed object" in page.locator(".nblabel-message").inner_text()
    page.screenshot(path=str(ARTIFACTS / "evaluation-patches.png"))
    # The outlined false positive is selected first: reject it from the keyboard.
    focus(page)
    index = int(outlined.first.get_attribute("data-index"))
    page.keyboard.press("r")
    wait_status(page, index, "rejected")

    def landed():
        ds.reload()
        dets = ds[first].predictions.detections
        return [d.id for d in dets if d.has_field("review") and d["review"] == "rejected"] \
            == sorted(spurious)

    eventually(landed, what="the rejection on the sample behind the patch")
