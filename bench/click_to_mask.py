"""Interactive segmentation: quality by simulated clicks, and the time a click costs.

Quality (the metric of interactive segmentation papers): the simulated user of
:mod:`nblabel.segmentation.evaluate` clicks at the middle of the largest error; ``NoC@t`` is the
number of clicks until IoU >= t (at most 20). Also: IoU after a box alone, after the box and 1,
3 and 5 clicks. Images: generated shapes (true masks drawn with them; objects of at least
400 px) and scikit-image's coins photo (true masks by the documented watershed of
:mod:`nblabel.demo.real`). Segmenter: the offline GrabCut (no weights).

Time, in real JupyterLab + Chromium: from a click in the widget's click-to-mask mode (key
``s``) until the mask is painted (the browser's own clock: the message sent, Python segments,
the mask PNG back, decoded, drawn, one frame), p50/p95 over 50 clicks on the coins photo, with
GrabCut and with a SAM-family model built with MobileSAM's architecture and random weights
(nothing downloaded; its image encoder runs once, on the first click). Also the segmenters' own
time per call in the kernel (GrabCut over all the simulated clicks above; MobileSAM encoder
once and decoder per click).
Run: ``python bench/click_to_mask.py``; the last line is the JSON with the figures.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

# The benchmarks' helpers (bench/) and the test harnesses (tests/harness, from the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, print_table


def main() -> None:
    import os

    os.environ.setdefault("YOLO_OFFLINE", "1")
    import numpy as np
    from PIL import Image

    from nblabel.demo.real import coins
    from nblabel.demo.synthetic import make_shapes, shape_mask
    from nblabel.segmentation import GrabCutSegmenter
    from nblabel.segmentation.evaluate import noc, simulate

    seg = GrabCutSegmenter()
    times: list[float] = []
    original = seg.segment

    def timed(image, prompt, key=None):
        t = time.perf_counter()
        try:
            return original(image, prompt, key)
        finally:
            times.append((time.perf_counter() - t) * 1000)

    seg.segment = timed  # type: ignore[method-assign]
    work = Path(tempfile.mkdtemp(prefix="nblabel-bench-click-"))
    cases = []
    for img in make_shapes(work, 12, seed=7, max_objects=4, min_side=30):
        image = Image.open(img.path).convert("RGB")
        for i, (_, box) in enumerate(img.objects):
            truth = shape_mask(img, i)
            if truth.sum() >= 400:
                cases.append(("shapes", image, truth, box))
    real = coins()
    image = Image.fromarray(real.pixels)
    cases += [("coins", image, real.mask(i), real.boxes[i]) for i in range(len(real.boxes))]
    rows, figures = [], {}
    for name in ("shapes", "coins"):
        group = [c for c in cases if c[0] == name]
        clicks = [simulate(seg, img, truth, max_clicks=20) for _, img, truth, _ in group]
        boxed = [simulate(seg, img, truth, box=box, max_clicks=5) for _, img, truth, box in group]
        fig = {
            "objects": len(group),
            "noc85": round(float(np.mean([noc(c, 0.85) for c in clicks])), 2),
            "noc90": round(float(np.mean([noc(c, 0.90) for c in clicks])), 2),
            "iou_after_box": round(float(np.mean([b[0] for b in boxed])), 3),
            "iou_box_1": round(float(np.mean([b[1] for b in boxed])), 3),
            "iou_box_3": round(float(np.mean([b[3] for b in boxed])), 3),
            "iou_box_5": round(float(np.mean([b[5] for b in boxed])), 3),
            "iou_click_1": round(float(np.mean([c[0] for c in clicks])), 3),
        }
        figures[name] = fig
        rows.append([name, fig["objects"], fig["noc85"], fig["noc90"], fig["iou_after_box"],
                     fig["iou_box_1"], fig["iou_box_3"], fig["iou_box_5"]])
    print_table(["images", "objects", "NoC@85", "NoC@90", "IoU box", "box+1", "box+3", "box+5"],
                rows)
    grabcut_p50, grabcut_p95 = np.percentile(times, [50, 95])
    print(f"GrabCut per click in the kernel: p50 {grabcut_p50:.1f} ms, p95 {grabcut_p95:.1f} ms "
          f"over {len(times)} calls")
    sam = _sam_timing(real.pixels)
    browser = _browser_clicks(real)
    emit({"click_p95_ms": browser["grabcut"]["p95_ms"],
          "click_p50_ms": browser["grabcut"]["p50_ms"],
          "sam_click_p95_ms": browser["mobile_sam_random"]["p95_ms"],
          "noc90": figures["shapes"]["noc90"], "noc85": figures["shapes"]["noc85"],
          "iou_after_box": figures["shapes"]["iou_after_box"], "quality": figures,
          "browser": browser, "kernel_click_p50_ms": round(float(grabcut_p50), 1),
          "kernel_click_p95_ms": round(float(grabcut_p95), 1), "sam_random_weights": sam})


def _browser_clicks(real, clicks: int = 50) -> dict[str, dict[str, float]]:
    """Click-to-painted times in JupyterLab + Chromium (see the module doc)."""
    import numpy as np
    from PIL import Image
    from tests.harness.devtools import (
        CHROMIUM_ARGS,
        JupyterLab,
        chromium_path,
        open_and_run,
        write_notebook,
    )

    from common import private_fiftyone

    work, mongod = private_fiftyone("click")
    lab = JupyterLab(work / "lab")
    out: dict[str, dict[str, float]] = {}
    try:
        import fiftyone as fo

        path = work / "coins.png"
        Image.fromarray(real.pixels).save(path)
        ds = fo.Dataset("click-bench", persistent=True)
        ds.add_sample(fo.Sample(filepath=str(path)))
        lab.start()
        from playwright.sync_api import sync_playwright

        base = ("import nblabel, fiftyone as fo\nds = fo.load_dataset('click-bench')\n")
        scenarios = {
            "grabcut": base + "w = nblabel.review(ds, classes=['coin'], assist=False)\nw",
            "mobile_sam_random": base + (
                "from ultralytics.models.sam.build import build_mobile_sam\n"
                "from nblabel.segmentation import SAMSegmenter\n"
                "w = nblabel.review(ds, classes=['coin'], assist=False,\n"
                "                   segmenter=SAMSegmenter(build_mobile_sam()))\nw"),
        }
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            for name, cell in scenarios.items():
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                write_notebook(lab.root / f"{name}.ipynb", [cell])
                open_and_run(page, lab.url, f"{name}.ipynb")
                page.wait_for_function(
                    "() => { const r = document.querySelector('.nblabel-root');"
                    " return r && r.dataset.paintedSample; }", timeout=120_000)
                page.locator(".nblabel-progress").click()
                page.keyboard.press("s")
                times = []
                req = 0
                for k in range(clicks + 1):  # the first click (SAM: encoder) is not counted
                    b = real.boxes[k % len(real.boxes)]
                    if k:  # a fresh prompt each time (Esc on an empty one leaves the mode)
                        page.keyboard.press("Escape")
                    cx, cy = page.evaluate(
                        """([x, y]) => { const w = document.querySelector('.nblabel-world');
                        const r = w.getBoundingClientRect();
                        return [r.left + x * r.width / w.offsetWidth,
                                r.top + y * r.height / w.offsetHeight]; }""",
                        [b.x + b.w / 2, b.y + b.h / 2])
                    page.mouse.click(cx, cy)
                    page.wait_for_function(
                        "(r) => { const d = document.querySelector('.nblabel-root').dataset;"
                        " return d.maskReq && Number(d.maskReq) > r && !d.maskPending; }",
                        arg=req, timeout=60_000)
                    root = page.locator(".nblabel-root")
                    req = int(root.get_attribute("data-mask-req"))
                    if k:
                        times.append(float(root.get_attribute("data-mask-ms")))
                p50, p95 = np.percentile(times, [50, 95])
                out[name] = {"clicks": len(times), "p50_ms": round(float(p50), 1),
                             "p95_ms": round(float(p95), 1)}
                print(f"click to painted mask in Chromium, {name}: p50 {p50:.1f} ms, "
                      f"p95 {p95:.1f} ms ({len(times)} clicks)", flush=True)
                page.close()
            browser.close()
    finally:
        lab.stop()
        mongod.stop()
    return out


def _sam_timing(pixels) -> dict[str, float]:
    import numpy as np
    from PIL import Image
    from ultralytics.models.sam.build import build_mobile_sam

    from nblabel.core.labels import Box
    from nblabel.segmentation import Prompt, SAMSegmenter

    image = Image.fromarray(pixels)
    seg = SAMSegmenter(build_mobile_sam(), name="mobile_sam (random weights)")
    t = time.perf_counter()
    seg.prepare(image, "coins")
    encode = (time.perf_counter() - t) * 1000
    decode = []
    for k in range(50):
        t = time.perf_counter()
        seg.segment(image, Prompt(box=Box(20 + k, 20, 60, 50), points=((45 + k, 45, True),)),
                    "coins")
        decode.append((time.perf_counter() - t) * 1000)
    p50, p95 = np.percentile(decode, [50, 95])
    print(f"MobileSAM architecture (random weights), 1024 px: encoder {encode:.0f} ms once per "
          f"image; prompt decoder per click p50 {p50:.1f} ms, p95 {p95:.1f} ms (50 clicks)")
    return {"encoder_ms": round(encode, 1), "decoder_p50_ms": round(float(p50), 1),
            "decoder_p95_ms": round(float(p95), 1)}


if __name__ == "__main__":
    main()
