"""Sliced inference on large images: nblabel's own slicing against the SAHI library.

Large images (2560x1920) are composed of 8x8 generated 320x240 scenes (shapes of 24 to 96 px,
seeded; truth known), so objects are small against the image and many are cut by tile borders.
The demo detector (trained at 320 px on such scenes) proposes:

- **whole**: on the whole image at 1280 px (objects shrink 2x);
- **nblabel union**: :class:`nblabel.sources.SlicedSource`, 320 px tiles overlapping 20 %,
  parts of an object joined by intersection over the smaller box >= 0.5 (the default);
- **nblabel wbf**: the same tiles merged by weighted box fusion (IoU >= 0.5);
- **nblabel union + whole**: the union merge with a whole-image pass merged in
  (``full_image=True``; that pass at 320 px, the tile source's size);
- **SAHI**: ``sahi.predict.get_sliced_prediction`` with its ultralytics model wrapper, same
  tiles, ``GREEDYNMM`` merge on ``IOS`` 0.5 (its default postprocess), no full-image pass.

Per method: recall at IoU 0.5 of all objects and of objects under 40 px, precision, at
confidence 0.25, and seconds per image (all in this one run). SAHI is optional: install it
without its OpenCV (which would replace the headless build) with
``pip install --no-deps sahi==0.12.8 shapely fire termcolor``; without it that row is skipped.
Run: ``python bench/slicing.py [--images N]``; the last line is the JSON with the figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# The benchmarks' helpers (bench/) and the test harnesses (tests/harness, from the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, print_table

CONF = 0.25


def _big_images(out: Path, n: int):
    import numpy as np
    from PIL import Image

    from nblabel.core.labels import Box
    from nblabel.demo.synthetic import make_shapes

    items = []
    for k in range(n):
        scenes = make_shapes(out / f"parts-{k}", 64, seed=100 + k, size=(320, 240))
        canvas = np.zeros((1920, 2560, 3), np.uint8)
        truth = []
        for i, sc in enumerate(scenes):
            x0, y0 = (i % 8) * 320, (i // 8) * 240
            canvas[y0:y0 + 240, x0:x0 + 320] = np.asarray(Image.open(sc.path).convert("RGB"))
            truth += [(label, Box(b.x + x0, b.y + y0, b.w, b.h)) for label, b in sc.objects]
        path = out / f"big-{k}.png"
        Image.fromarray(canvas).save(path)
        items.append((path, truth))
    return items


def _score(props, truth):
    shown = [p for p in props if (p.confidence or 0) >= CONF]
    free = list(range(len(truth)))
    hits = 0
    small_found = set()
    for p in sorted(shown, key=lambda q: -(q.confidence or 0)):
        best = max(free, key=lambda i: p.box.iou(truth[i][1]), default=None)
        if best is not None and p.box.iou(truth[best][1]) >= 0.5 and truth[best][0] == p.label:
            free.remove(best)
            hits += 1
            small_found.add(best)
    small = [i for i, (_, b) in enumerate(truth) if max(b.w, b.h) < 40]
    return hits, len(shown), len(truth), sum(i in small_found for i in small), len(small)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=3)
    args = parser.parse_args()
    import os

    os.environ.setdefault("YOLO_OFFLINE", "1")
    from PIL import Image

    from nblabel.core.labels import Box, Proposal
    from nblabel.demo import prepare_model
    from nblabel.sources import SlicedSource, UltralyticsSource

    weights = prepare_model()
    work = Path(tempfile.mkdtemp(prefix="nblabel-bench-slicing-"))
    items = _big_images(work, args.images)
    images = [(Image.open(p).convert("RGB"), truth) for p, truth in items]
    tile = UltralyticsSource(str(weights), imgsz=320, conf=0.05)
    methods = {
        "whole": UltralyticsSource(str(weights), imgsz=1280, conf=0.05),
        "nblabel union": SlicedSource(tile, tile=320, overlap=0.2, merge="union"),
        "nblabel wbf": SlicedSource(tile, tile=320, overlap=0.2, merge="wbf"),
        "nblabel union + whole": SlicedSource(tile, tile=320, overlap=0.2, merge="union",
                                              full_image=True),
    }

    def run_sahi(image):
        from sahi.predict import get_sliced_prediction

        res = get_sliced_prediction(image, sahi_model, slice_height=320, slice_width=320,
                                    overlap_height_ratio=0.2, overlap_width_ratio=0.2,
                                    perform_standard_pred=False, postprocess_type="GREEDYNMM",
                                    postprocess_match_metric="IOS",
                                    postprocess_match_threshold=0.5, verbose=0)
        return [Proposal(o.category.name, Box.from_xyxy(*o.bbox.to_xyxy()), o.score.value)
                for o in res.object_prediction_list]

    try:
        from sahi.models.ultralytics import UltralyticsDetectionModel

        sahi_model = UltralyticsDetectionModel(model_path=str(weights), confidence_threshold=0.05,
                                               device="cpu", image_size=320)
    except ImportError:
        sahi_model = None
        print("SAHI not installed: its row is skipped (see the module doc)")
    rows, figures = [], {}
    for name in [*methods, *(["sahi"] if sahi_model is not None else [])]:
        for image, _ in images[:1]:  # warm-up (model load, first-call costs)
            (run_sahi(image) if name == "sahi" else methods[name].propose([image]))
        hits = shown = total = small_hit = small_total = 0
        started = time.perf_counter()
        for image, truth in images:
            props = run_sahi(image) if name == "sahi" else methods[name].propose([image])[0]
            h, s, t, sh, st = _score(props, truth)
            hits, shown, total = hits + h, shown + s, total + t
            small_hit, small_total = small_hit + sh, small_total + st
        secs = (time.perf_counter() - started) / len(images)
        fig = {"recall": round(hits / total, 3), "small_recall": round(small_hit / small_total, 3),
               "precision": round(hits / max(shown, 1), 3), "seconds_per_image": round(secs, 2)}
        figures[name.replace(" ", "_")] = fig
        rows.append([name, fig["recall"], fig["small_recall"], fig["precision"],
                     fig["seconds_per_image"]])
        print(f"{name}: {fig}", flush=True)
    print_table(["method", "recall", "recall < 40 px", "precision", "s/image"], rows)
    emit({"objects": sum(len(t) for _, t in images), **figures})


if __name__ == "__main__":
    main()
