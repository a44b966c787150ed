"""Starting with no model at all, on real images: what each round of review costs.

Data: scikit-image's ``immunohistochemistry`` (512x512 colon tissue), cut into 16 tiles of
128 px; truth: its stroma nuclei by the documented method of :mod:`nblabel.demo.real` (colour
deconvolution, Otsu, watershed; 266 nuclei of about 12 px, 16 per tile). Tiles are reviewed in
rounds of ``--per-round`` (4), in a seeded order, by
:class:`nblabel.learning.simulate.SimulatedReviewer` (display threshold 0.3) and priced by its
:class:`~nblabel.learning.simulate.CostModel` (draw 7 s, edit 4 s, accept/reject 1 s, 1 s per
image) against drawing every nucleus by hand. Side by side, from nothing:

- **(a) plain**: after each round, yolov8n trained from ``yolov8n.yaml`` on every reviewed
  tile (ultralytics defaults at 128 px, 30 epochs), proposing on the next round's tiles;
- **(b) small-data**: the same model and tiles through :mod:`nblabel.learning.smalldata`:
  copy-paste images (``--synthetic`` per reviewed tile), epochs by images seen with early
  stopping on the reviewed validation tile, training size chosen to keep nuclei >= 20 px;
- **(c) exemplars** (what the widget does by default): no training; every box settled so far
  is an exemplar and every reviewed tile's remainder background
  (:class:`nblabel.sources.ExemplarSource`, pixel classifier, as
  :class:`nblabel.reviewing.assist.ExemplarAssist` feeds it); on the first tile the reviewer
  draws two nuclei first (priced as draws), as in the widget;
- **(d) exemplars + (b)'s model**, fused by weighted box fusion
  (:class:`nblabel.sources.EnsembleSource`) once a model exists.

Per round: seconds per image, manual seconds per image, saving, actions, and mAP50 of the model
on the round's tiles (before they are reviewed: ultralytics' mAP50 against the truth).
Run: ``python bench/cold_start.py [--quick]``; the last line is the JSON with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

# The benchmarks' helpers (bench/) and the test harnesses (tests/harness, from the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, print_table

T0 = time.monotonic()


def _proposals_from_yolo(weights: Path, tiles, imgsz: int):
    from PIL import Image

    from nblabel.sources import UltralyticsSource

    src = UltralyticsSource(str(weights), imgsz=imgsz, conf=0.05, agnostic_nms=True)
    return [src.propose([Image.open(t.path).convert("RGB")])[0] for t in tiles]


def _map50(props, tiles) -> float:
    """mAP50 of one-class proposals against the truth (all points interpolation)."""
    import numpy as np

    scored = []
    n_truth = sum(len(t.objects) for t in tiles)
    for ps, t in zip(props, tiles, strict=True):
        free = [b for _, b in t.objects]
        for p in sorted(ps, key=lambda q: -(q.confidence or 0)):
            best = max(range(len(free)), key=lambda i: p.box.iou(free[i]), default=None)
            hit = best is not None and p.box.iou(free[best]) >= 0.5
            if hit:
                free.pop(best)
            scored.append((p.confidence or 0, hit))
    if not n_truth or not scored:
        return 0.0
    scored.sort(key=lambda s: -s[0])
    tp = np.cumsum([h for _, h in scored])
    prec = tp / np.arange(1, len(scored) + 1)
    rec = tp / n_truth
    prec = np.maximum.accumulate(prec[::-1])[::-1]
    r_prev, ap = 0.0, 0.0
    for r, p in zip(rec, prec, strict=True):
        ap += (r - r_prev) * p
        r_prev = r
    return float(ap)


def _train(method: str, reviewed, work: Path, rnd: int, epochs_plain: int, synthetic: int):
    from nblabel.learning import train_ultralytics
    from nblabel.learning.smalldata import (
        Labeled,
        copy_paste,
        schedule,
        train_size,
        write_yolo_labels,
    )

    root = work / f"{method}-r{rnd}"
    items = [Labeled(t.path, tuple((0, b) for _, b in t.objects)) for t in reviewed]
    val = items[-1:] if method == "small" and len(items) > 2 else items[:1]
    train = items[:-1] if method == "small" and len(items) > 2 else items
    args: dict = {}
    imgsz = 128
    if method == "small":
        extra = copy_paste(train, root / "train" / "images", synthetic * len(train), seed=rnd)
        train = [*train, *extra]
        imgsz = train_size([128], [min(b.w, b.h) for it in items for _, b in it.objects])
        sched = schedule(len(train))
        args = {"epochs": sched["epochs"], "patience": sched["patience"], "val": True}
    else:
        args = {"epochs": epochs_plain, "val": False}
    for split, group in (("train", train), ("val", val)):
        img_dir = root / split / "images"
        img_dir.mkdir(parents=True, exist_ok=True)
        for it in group:
            target = img_dir / it.path.name
            if not target.exists():
                target.write_bytes(it.path.read_bytes())
        write_yolo_labels(group, root / split / "labels")
    data = root / "data.yaml"
    data.write_text(json.dumps({"path": str(root), "train": "train/images",
                                "val": "val/images", "names": {0: "nucleus"}}))
    weights = root / "model.pt"
    started = time.monotonic()
    train_ultralytics(data, weights, model="yolov8n.yaml", imgsz=imgsz, batch=8,
                      workers=0, cache="ram", warmup_epochs=1, **args)
    return weights, imgsz, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 rounds, fewer epochs")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=30, help="plain training's epochs")
    parser.add_argument("--synthetic", type=int, default=8,
                        help="copy-paste images per reviewed tile")
    parser.add_argument("--threshold", type=float, default=0.3)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.epochs = 3, 10

    import os

    os.environ.setdefault("YOLO_OFFLINE", "1")

    from nblabel.demo.real import nuclei, write_tiles
    from nblabel.learning.simulate import CostModel, SimulatedReviewer
    from nblabel.sources import prepare_ultralytics

    work = Path(tempfile.mkdtemp(prefix="nblabel-bench-cold-"))
    os.environ.setdefault("YOLO_CONFIG_DIR", str(work / "ultralytics"))
    prepare_ultralytics()
    tiles = write_tiles(nuclei(), work / "tiles", 128)
    random.Random(0).shuffle(tiles)
    rounds = [tiles[k * args.per_round:(k + 1) * args.per_round] for k in range(args.rounds)]
    cost = CostModel()
    reviewer = SimulatedReviewer(threshold=args.threshold)
    rows, results = [], {"plain": [], "small": [], "exemplars": [], "fused": []}
    small_models: dict[int, tuple[Path, int]] = {}  # round -> (b)'s model proposing on it
    train_seconds = {"plain": 0.0, "small": 0.0}
    # (a), (b): trained models, round after round.
    for method in ("plain", "small"):
        model = None
        for rnd, group in enumerate(rounds, start=1):
            if model is None:
                props = [[] for _ in group]
            else:
                props = _proposals_from_yolo(model[0], group, model[1])
            m50 = _map50(props, group) if model is not None else 0.0
            reviews = [reviewer.review(p, t.objects) for p, t in zip(props, group, strict=True)]
            secs = sum(r.seconds(cost) for r in reviews) / len(group)
            manual = sum(cost.manual_seconds(len(t.objects)) for t in group) / len(group)
            actions = sum(r.actions for r in reviews) / len(group)
            results[method].append({"round": rnd, "seconds_per_image": round(secs, 1),
                                    "manual_seconds_per_image": round(manual, 1),
                                    "saving": round(1 - secs / manual, 3),
                                    "actions_per_image": round(actions, 1),
                                    "map50": round(m50, 3)})
            if rnd < len(rounds):
                reviewed = [t for g in rounds[:rnd] for t in g]
                w, sz, s = _train(method, reviewed, work, rnd, args.epochs, args.synthetic)
                train_seconds[method] += s
                model = (w, sz)
                if method == "small":
                    small_models[rnd + 1] = model
            print(f"[{time.monotonic() - T0:.0f}s] {method} round {rnd}: "
                  f"{results[method][-1]}", flush=True)
    # (c) exemplars, no training; (d) the same fused with (b)'s model of the round.
    for method in ("exemplars", "fused"):
        results[method] = _exemplar_rounds(method, rounds, small_models, reviewer, cost)
    for method, res in results.items():
        for r in res:
            rows.append([method, r["round"], r["seconds_per_image"],
                         r["manual_seconds_per_image"], r["saving"], r["actions_per_image"],
                         r["map50"]])
    print_table(["method", "round", "s/img", "manual s/img", "saving", "actions/img", "mAP50"],
                rows)
    ours = results["exemplars"]
    emit({"rounds": ours, "saving_final": ours[-1]["saving"],
          "baseline_saving_final": results["plain"][-1]["saving"],
          "small_data_saving_final": results["small"][-1]["saving"],
          "fused_saving_final": results["fused"][-1]["saving"],
          "small_data_rounds": results["small"], "baseline_rounds": results["plain"],
          "fused_rounds": results["fused"],
          "train_seconds": {k: round(v, 1) for k, v in train_seconds.items()},
          "total_seconds": round(time.monotonic() - T0, 1)})


def _exemplar_rounds(method, rounds, models, reviewer, cost):
    from PIL import Image

    from nblabel.sources import EnsembleSource, ExemplarSource, UltralyticsSource

    class Given:  # one image's proposals, as a member of the ensemble
        name, task, dropped = "given", "detect", 0

        def __init__(self, props):
            self.props, self.unmapped = props, {}

        def propose(self, images):
            return [self.props]

    ex = ExemplarSource()
    out = []
    for rnd, group in enumerate(rounds, start=1):
        model = models.get(rnd) if method == "fused" else None
        yolo = (UltralyticsSource(str(model[0]), imgsz=model[1], conf=0.05, agnostic_nms=True)
                if model else None)
        secs_all, manual_all, actions_all, props_all = 0.0, 0.0, 0, []
        for t in group:
            image = Image.open(t.path).convert("RGB")
            truth = list(t.objects)
            pre = 0.0
            drawn_first: list = []
            if not ex.exemplars:  # the first tile: two nuclei drawn by hand first
                drawn_first = truth[:2]
                truth = truth[2:]
                pre = 2 * cost.draw
                for label, b in drawn_first:
                    ex.add(image, label, b, others=[b for _, b in drawn_first])
            props = ex.propose([image])[0]
            if yolo is not None:
                members = [Given(props), Given(yolo.propose([image])[0])]
                props = EnsembleSource(members).propose([image])[0]
            props_all.append(props)
            review = reviewer.review(props, truth)
            secs_all += review.seconds(cost) + pre
            actions_all += review.actions + len(drawn_first)
            manual_all += cost.manual_seconds(len(t.objects))
            known = [b for _, b in review.labels()] + [b for _, b in drawn_first]
            for label, b in review.labels():  # what the reviewer settled teaches the next tile
                with contextlib.suppress(ValueError):  # a box too small to be an exemplar
                    ex.add(image, label, b, others=known)
            ex.add_background(image, known)  # the tile is fully labelled now
        out.append({
            "round": rnd, "seconds_per_image": round(secs_all / len(group), 1),
            "manual_seconds_per_image": round(manual_all / len(group), 1),
            "saving": round(1 - secs_all / manual_all, 3),
            "actions_per_image": round(actions_all / len(group), 1),
            "map50": round(_map50(props_all, group), 3)})
        print(f"[{time.monotonic() - T0:.0f}s] {method} round {rnd}: {out[-1]}", flush=True)
    return out


if __name__ == "__main__":
    main()
