"""Starting with no model at all, on real images of four families: what each round of review
costs with help that measures itself, against drawing every object by hand.

Families (real images nobody here drew; truth as documented in :mod:`nblabel.demo.real`):

- ``nuclei``: ``immunohistochemistry`` stroma nuclei, 16 tiles of 128 px (the family the
  defaults were tuned on);
- ``coins``: the ``coins`` photo at five scales (0.5 to 1.2), tiles of 128 px with at least two
  coins: the same objects at sizes the exemplars never saw;
- ``hubble``: ``hubble_deep_field`` sources, tiles of 128 px with at least three;
- ``crowns``: the deepforest wheel's aerial photos of touching tree crowns, boxes drawn by
  people, 48 tiles of 416 px (the case where the assistant cost more than drawing).

Tiles are shuffled (seed 0) and reviewed in rounds of ``--per-round`` (4) by
:class:`nblabel.learning.simulate.SimulatedReviewer` (display threshold 0.3), priced by
:class:`nblabel.core.cost.CostModel` against drawing each tile's objects by hand. On the first
tile the reviewer draws two objects first (priced as draws), as in the widget. Help on offer,
each measured by one :class:`nblabel.core.ledger.Ledger` on every finished tile:

- **assistant**: the exemplar assistant (:class:`nblabel.sources.ExemplarSource`), learning from
  every finished tile: its boxes as exemplars, its background, and its rejected proposals as
  hard negatives;
- **model**: yolov8n from ``yolov8n.yaml`` trained after each round on every reviewed tile with
  :mod:`nblabel.learning.smalldata` (copy-paste images, early stopping on the last reviewed
  tile), proposing on the next round;
- **fused**: the two by weighted box fusion (:class:`nblabel.sources.EnsembleSource`).

Arms, side by side on the same tiles: ``ungated`` (the assistant's proposals as the widget
showed them before it measured itself), ``assistant`` and ``model`` each shown only while the
ledger says they pay (calibrated confidence, proposals not worth showing dropped, silent while
unmeasured or costing), and ``chosen``: per tile, the source the ledger measures as saving most
on the last finished tiles, or nothing. The model source keeps its record across rounds (a
new round's model is judged first by its predecessor's record, then by its own).

Run: ``python bench/cold_start.py [--quick] [--family F ...]``; the last line is the JSON with
``min_round_saving`` (the chosen arm's worst round, any family) and ``saving_round3`` (per
family).
"""

from __future__ import annotations

import argparse
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
ARMS = ("ungated", "assistant", "model", "chosen")


def families(work: Path, names: list[str]) -> dict[str, list]:
    """Per family, its tiles (shuffled, seed 0) as ``SyntheticImage`` (path, size, objects)."""
    from nblabel.demo.real import CROWN_IMAGES, coins, crowns, hubble, nuclei, scaled, write_tiles

    out: dict[str, list] = {}
    for name in names:
        if name == "nuclei":
            tiles = write_tiles(nuclei(), work / name, 128)
        elif name == "coins":
            base = coins()
            tiles = [t for f in (0.5, 0.7, 0.85, 1.0, 1.2)
                     for t in write_tiles(scaled(base, f), work / name, 128)
                     if len(t.objects) >= 2]
        elif name == "hubble":
            tiles = [t for t in write_tiles(hubble(), work / name, 128) if len(t.objects) >= 3]
        elif name == "crowns":
            tiles = [t for n in CROWN_IMAGES for t in write_tiles(crowns(n), work / name, 416)]
        else:
            raise SystemExit(f"unknown family {name!r}")
        random.Random(0).shuffle(tiles)
        out[name] = tiles
    return out


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
    prec = np.maximum.accumulate((tp / np.arange(1, len(scored) + 1))[::-1])[::-1]
    rec = tp / n_truth
    return float(np.sum(np.diff(np.concatenate([[0.0], rec])) * prec))


def _train(tiles, work: Path, label: str):
    """yolov8n from the yaml, small-data training on ``tiles``; (weights, imgsz)."""
    from nblabel.learning import train_ultralytics
    from nblabel.learning.smalldata import (
        Labeled,
        copy_paste,
        schedule,
        train_size,
        write_yolo_labels,
    )

    root = work / label
    items = [Labeled(t.path, tuple((0, b) for _, b in t.objects)) for t in tiles]
    # Validation (early stopping): the reviewed tile with the most objects, never an empty one.
    k = max(range(len(items)), key=lambda i: len(items[i].objects))
    val, train = [items[k]], [it for i, it in enumerate(items) if i != k] or items
    side = max(max(t.width, t.height) for t in tiles)
    extra = copy_paste(train, root / "train" / "images", 8 * len(train), seed=len(items))
    train = [*train, *extra]
    imgsz = train_size([side], [min(b.w, b.h) for it in items for _, b in it.objects])
    sched = schedule(len(train))
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
                                "val": "val/images", "names": {0: "object"}}))
    weights = root / "model.pt"
    train_ultralytics(data, weights, model="yolov8n.yaml", imgsz=imgsz, batch=8, workers=0,
                      cache="ram", warmup_epochs=1, epochs=sched["epochs"],
                      patience=sched["patience"], val=True)
    return weights, imgsz


def run_family(name: str, tiles, args, work: Path) -> dict:
    import contextlib

    from PIL import Image

    from nblabel.core.cost import CostModel, replay
    from nblabel.core.ledger import Ledger
    from nblabel.learning.simulate import SimulatedReviewer
    from nblabel.sources import EnsembleSource, ExemplarSource, UltralyticsSource

    class Given:  # one image's proposals, as a member of the ensemble
        name, task, dropped = "given", "detect", 0

        def __init__(self, props):
            self.props, self.unmapped = props, {}

        def propose(self, images):
            return [self.props]

    cost = CostModel()
    reviewer = SimulatedReviewer(threshold=args.threshold)
    ledger = Ledger(cost=cost, threshold=args.threshold)
    ex = ExemplarSource()
    rounds = [tiles[k * args.per_round:(k + 1) * args.per_round] for k in range(args.rounds)]
    model = None
    out: list[dict] = []
    for rnd, group in enumerate(rounds, start=1):
        secs = dict.fromkeys(ARMS, 0.0)
        manual = 0.0
        raw: dict[str, list] = {"assistant": [], "model": []}
        picks: list[str] = []
        yolo = (UltralyticsSource(str(model[0]), imgsz=model[1], conf=0.05, agnostic_nms=True)
                if model else None)
        for t in group:
            image = Image.open(t.path).convert("RGB")
            truth, pre, first = list(t.objects), 0.0, []
            if not ex.exemplars:  # the first tile: two objects drawn by hand first
                first, truth = truth[:2], truth[2:]
                pre = 2 * cost.draw
                for label, b in first:
                    ex.add(image, label, b, others=[b for _, b in first])
            taken = [b for _, b in first]
            cands = {"assistant": [p for p in ex.propose([image])[0]
                                   if all(p.box.iou(b) <= 0.3 for b in taken)]}
            if yolo is not None:
                cands["model"] = yolo.propose([image])[0]
                cands["fused"] = EnsembleSource([Given(cands["assistant"]),
                                                 Given(cands["model"])]).propose([image])[0]
            raw["assistant"].append(cands["assistant"])
            raw["model"].append(cands.get("model", []))

            def shown(source: str | None, cands=cands) -> list:
                if source not in cands or not ledger.shows(source, unmeasured=False):
                    return []
                return ledger.calibrated(source, cands[source])

            pick = ledger.choose(cands)
            picks.append(pick or "none")
            arms = {"ungated": cands["assistant"], "assistant": shown("assistant"),
                    "model": shown("model"), "chosen": shown(pick)}
            for arm, props in arms.items():
                secs[arm] += reviewer.review(props, truth).seconds(cost) + pre
            if args.verbose:
                print(f"  {t.path.name}: {len(truth)} objects, floor(assistant) "
                      f"{ledger.floor('assistant'):.2f}, " + ", ".join(
                          f"{a} {reviewer.review(p, truth).seconds(cost) + pre:.0f}s"
                          for a, p in arms.items()), flush=True)
            manual += cost.manual_seconds(len(t.objects))
            # The tile is finished: every source is measured on it, shown or not.
            for source, props in cands.items():
                ledger.record(source, props, truth)
            # The assistant learns from it: exemplars, background, rejections.
            known = [b for _, b in t.objects]
            for label, b in truth:
                with contextlib.suppress(ValueError):  # a box too small to be an exemplar
                    ex.add(image, label, b, others=known)
            ex.add_background(image, known)
            if args.negatives:
                missed = replay(cands["assistant"], truth).rejected
                ex.add_negatives(image, [p.box for p in missed], known)
        row = {"round": rnd, "manual_seconds_per_image": round(manual / len(group), 1),
               **{f"{arm}_saving": round(1 - secs[arm] / manual, 3) for arm in ARMS},
               "assistant_map50": round(_map50(raw["assistant"], group), 3),
               "model_map50": round(_map50(raw["model"], group), 3) if model else None,
               "chosen": picks}
        out.append(row)
        print(f"[{time.monotonic() - T0:.0f}s] {name} round {rnd}: {row}", flush=True)
        if rnd < len(rounds) and not args.no_model:
            model = _train([t for g in rounds[:rnd] for t in g], work, f"{name}-r{rnd}")
    return {"rounds": out, "ledger": ledger.status()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="no model training")
    parser.add_argument("--family", nargs="*", default=["nuclei", "coins", "hubble", "crowns"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=4)
    parser.add_argument("--threshold", type=float, default=0.3)
    parser.add_argument("--no-model", action="store_true", help="assistant only")
    parser.add_argument("--verbose", action="store_true", help="a line per tile")
    parser.add_argument("--no-negatives", dest="negatives", action="store_false",
                        help="do not learn from rejected proposals")
    args = parser.parse_args()
    if args.quick:
        args.no_model = True

    import os

    os.environ.setdefault("YOLO_OFFLINE", "1")
    from nblabel.sources import prepare_ultralytics

    work = Path(tempfile.mkdtemp(prefix="nblabel-bench-cold-"))
    os.environ.setdefault("YOLO_CONFIG_DIR", str(work / "ultralytics"))
    prepare_ultralytics()
    results = {name: run_family(name, tiles, args, work)
               for name, tiles in families(work, args.family).items()}
    rows = [[name, r["round"], r["manual_seconds_per_image"],
             *(f"{r[f'{arm}_saving']:.1%}" for arm in ARMS), r["assistant_map50"],
             r["model_map50"] if r["model_map50"] is not None else "-",
             ",".join(sorted(set(r["chosen"])))]
            for name, res in results.items() for r in res["rounds"]]
    print_table(["family", "round", "manual s/img", *ARMS, "assistant mAP50", "model mAP50",
                 "chosen sources"], rows)
    chosen = {name: [r["chosen_saving"] for r in res["rounds"]]
              for name, res in results.items()}
    emit({"min_round_saving": min(min(v) for v in chosen.values()),
          "saving_round3": {name: v[2] if len(v) > 2 else None for name, v in chosen.items()},
          "families": results, "total_seconds": round(time.monotonic() - T0, 1)})


if __name__ == "__main__":
    main()
