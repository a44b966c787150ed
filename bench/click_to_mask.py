"""Interactive segmentation: quality by simulated clicks, and the time a click costs.

Quality (the metric of interactive segmentation papers): the simulated user of
:mod:`nblabel.segmentation.evaluate` clicks at the middle of the largest error; ``NoC@t`` is the
number of clicks until IoU >= t (at most 20). Also: IoU after a box alone, after the box and 1,
3 and 5 clicks. Images: generated shapes (true masks drawn with them; objects of at least
400 px) and scikit-image's coins photo (true masks by the documented watershed of
:mod:`nblabel.demo.real`). Segmenter: the offline GrabCut (no weights).

Time: the segmenter's own time per click in the kernel, p50/p95 over the clicks above (GrabCut),
and for a SAM-family model built with MobileSAM's architecture and random weights (nothing
downloaded): the image encoder once, then the prompt decoder per click. Click-to-painted time
in Chromium needs the widget's click-to-mask mode, which is not built yet.
Run: ``python bench/click_to_mask.py``; the last line is the JSON with the figures.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

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
    emit({"noc90": figures["shapes"]["noc90"], "noc85": figures["shapes"]["noc85"],
          "iou_after_box": figures["shapes"]["iou_after_box"], "quality": figures,
          "kernel_click_p50_ms": round(float(grabcut_p50), 1),
          "kernel_click_p95_ms": round(float(grabcut_p95), 1), "sam_random_weights": sam})


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
