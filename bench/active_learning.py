"""Does choosing what to label get a better model with fewer labels? Random, uncertainty,
diversity and combined selection (``nblabel.curation.selection.select``) side by side, the same
training budget, three seeds, two image sets.

Sets (pool to select from, test set never selected):

- ``generated``: shapes (``nblabel.demo.synthetic``) where triangles are rare (12 of 156 pool
  images) and the pool is redundant (24 images each with 4 near copies,
  ``nblabel.demo.synthetic.near_copy``); the starting model knows circles and squares only (it
  was trained on 240 images without triangles), so triangles must be learned from the labels.
  Test: 60 images as generated (a third of the objects are triangles).
- ``real``: tiles (96 px) of three scikit-image photos with their documented truth
  (``nblabel.demo.real``: tissue nuclei, Hubble sources, coins). The pool tiles the left 2/3 of
  each photo with half-tile overlap (neighbouring tiles share a quarter to a half of their
  pixels, as tiles of a slide do); coins are the rare family. Test: the right third, tiled
  without overlap. Starting model: the demo detector (shapes); classes nucleus, source, coin.

Rounds: ``K0`` images drawn at random (the same for every method, per seed), then ``K`` more per
round by each method, the model of the last round proposing on the pool for uncertainty
(``nblabel.curation.uncertainty.image_difficulty``) and the classes seen (rare classes first);
embeddings are the pixel embedder's (``nblabel.curation.embeddings.PixelEmbedder``, no model).
Every round trains from the starting model for the same number of image steps
(``BUDGET`` / labeled images epochs) and scores mAP50 on the test set.

``labels_to_match_random``: the labeled images the combined selection needs (linear between
rounds, mean over seeds) to reach random selection's final mAP50, as a share of random's final
count; the worst of the sets (target: at most 0.6). Also here: label-error ranking against
cleanlab (``bench/ranking.py``'s ``label_errors``: ``auroc``, ``cleanlab_auroc``), the pixel
embedder's throughput (``embed_samples_per_s``), and selection over 1,000,000 embeddings
(``scale``: seconds and peak memory of combined and diversity selection of 1,000 images among
1,000,000 embeddings in memory, and of near-duplicates of 10,000 reviewed images among 100,000
stored in FiftyOne, ``--store`` for more). ``--quick``: one seed, two rounds, no scale run.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, print_table, private_fiftyone

METHODS = ("random", "uncertainty", "diversity", "combined")
K0, K, ROUNDS = 8, 8, 4
BUDGET = 640  # image steps per training (epochs = BUDGET / labeled images)
#: Fine-tuning a small set: a low learning rate, no mosaic (it mixes 4 of very few images),
#: no warm-up. Ultralytics' defaults made the model worse than its start on 8-40 images.
TRAIN_ARGS = {"lr0": 0.0005, "optimizer": "AdamW", "mosaic": 0.0, "warmup_epochs": 0}
IMGSZ = {"generated": 160, "real": 96}


def _crop(image: Any, x0: int, x1: int) -> Any:
    """The columns [x0, x1) of a real image and the boxes whose centre lies in them."""
    from dataclasses import replace

    from nblabel.core.labels import Box

    boxes = tuple(Box(max(b.x, x0) - x0, b.y, min(b.x + b.w, x1) - max(b.x, x0), b.h)
                  for b in image.boxes if x0 <= b.x + b.w / 2 < x1)
    return replace(image, pixels=image.pixels[:, x0:x1].copy(), boxes=boxes, regions=None,
                   region_ids=())


def _without(images: list[Any], cls: str) -> list[Any]:
    return [i for i in images if all(c != cls for c, _ in i.objects)]


def base_without_triangles() -> Path:
    """The generated set's starting model: the demo recipe on images with no triangle
    (cached)."""
    from nblabel.demo import demo_dir
    from nblabel.demo.synthetic import make_shapes, write_yolo_dataset
    from nblabel.learning import train_ultralytics

    base = demo_dir() / "bench-active" / "no-triangles-v2.pt"
    if not base.exists():
        src = demo_dir() / "bench-active" / "src"

        def drawn(name: str, n: int, seed: int) -> list[Any]:
            images = make_shapes(src / name, 6 * n, seed=seed, prefix=name[0])
            return [i for i in _without(images, "triangle") if i.objects][:n]

        train, val = drawn("train", 240, 61), drawn("val", 40, 62)
        data = write_yolo_dataset(src / "yolo", train, val)
        train_ultralytics(data, base, epochs=30, imgsz=160, precision="fp32")
    return base


def generated_set(work: Path) -> tuple[list[Any], list[Any], Path, tuple[str, ...]]:
    from nblabel.demo.synthetic import CLASSES, make_shapes, near_copy

    base = base_without_triangles()
    drawn = make_shapes(work / "gen-pool", 200, seed=63, prefix="p")
    common = _without(drawn, "triangle")[:48]
    rare = [i for i in drawn if any(c == "triangle" for c, _ in i.objects)][:12]
    copies = [near_copy(im, work / "gen-copies" / f"c{k}-{j}.jpg", seed=10 * k + j)
              for k, im in enumerate(common[:24]) for j in range(4)]
    test = make_shapes(work / "gen-test", 60, seed=64, prefix="x")
    return common + copies + rare, test, base, CLASSES


def real_set(work: Path) -> tuple[list[Any], list[Any], Path, tuple[str, ...]]:
    from dataclasses import replace

    from nblabel.demo import prepare_model
    from nblabel.demo.real import coins, hubble, nuclei, write_tiles

    pool, test = [], []
    for name, image in (("nucleus", nuclei()), ("source", hubble()), ("coin", coins())):
        image = replace(image, label=name)
        width = image.size.width
        cut = int(width * 2 / 3)
        pool += write_tiles(_crop(image, 0, cut), work / "real-pool" / name, 96, overlap=0.5)
        test += write_tiles(_crop(image, cut, width), work / "real-test" / name, 96)
    return pool, test, prepare_model(), ("nucleus", "source", "coin")


def _train(work: Path, items: list[Any], test: list[Any], base: Path, classes: tuple[str, ...],
           imgsz: int, seed: int) -> tuple[Path, float]:
    import shutil

    from nblabel.demo.synthetic import write_yolo_dataset
    from nblabel.learning import train_ultralytics

    shutil.rmtree(work, ignore_errors=True)
    data = write_yolo_dataset(work / "yolo", items, test, classes=classes)
    metrics: dict[str, float] = {}
    weights = train_ultralytics(
        data, work / "model.pt", model=base, epochs=max(5, math.ceil(BUDGET / len(items))),
        imgsz=imgsz, batch=8, seed=seed, metrics_out=metrics, val=False, plots=False,
        precision="fp32", **TRAIN_ARGS)
    return weights, float(metrics.get("map50", 0.0))


def _propose(weights: Path, pool: list[Any], imgsz: int) -> tuple[list[float], list[set[str]]]:
    from ultralytics import YOLO

    from nblabel.curation.uncertainty import image_difficulty

    model = YOLO(str(weights))
    unc, classes = [], []
    for r in model.predict([str(i.path) for i in pool], imgsz=imgsz, conf=0.05, verbose=False,
                           stream=True):
        confs = r.boxes.conf.tolist()
        unc.append(image_difficulty(confs))
        classes.append({r.names[int(c)] for c, s in zip(r.boxes.cls.tolist(), confs,
                                                         strict=True) if s >= 0.25})
    return unc, classes


def run_seed(set_name: str, seed: int, work: Path, rounds: int) -> dict[str, Any]:
    """Curves of every method for one set and seed (a worker process)."""
    import numpy as np

    from nblabel.curation.embeddings import PixelEmbedder, standardize
    from nblabel.curation.selection import select
    from nblabel.sources.yolo import prepare_ultralytics

    prepare_ultralytics()
    pool, test, base, classes = (generated_set if set_name == "generated" else real_set)(
        work / f"{set_name}-{seed}-data")
    imgsz = IMGSZ[set_name]
    started = time.perf_counter()
    emb = PixelEmbedder()([i.path for i in pool])
    embed_s = time.perf_counter() - started
    x = standardize(emb.vectors)
    first = np.random.default_rng(seed).choice(len(pool), K0, replace=False).tolist()
    out: dict[str, Any] = {"pool": len(pool), "test": len(test), "embed_per_s":
                           len(pool) / embed_s, "curves": {}}
    root = work / f"{set_name}-{seed}"
    weights0, map0 = _train(root / "start", [pool[i] for i in first], test, base, classes,
                            imgsz, seed)
    for method in METHODS:
        labeled, weights, curve = list(first), weights0, [(K0, map0)]
        for r in range(1, rounds + 1):
            unc, seen = _propose(weights, pool, imgsz) if method != "random" else (None, None)
            picks = select(K, method=method, uncertainty=unc, embeddings=x, labeled=labeled,
                           classes=seen, seed=seed * 100 + r)
            labeled += picks
            weights, m = _train(root / f"{method}-{r}", [pool[i] for i in labeled], test,
                                base, classes, imgsz, seed)
            curve.append((len(labeled), m))
        out["curves"][method] = curve
        rare = classes[-1]
        out.setdefault("rare_images", {})[method] = sum(
            any(c == rare for c, _ in pool[i].objects) for i in labeled)
    return out


def labels_to_match(random_curve: list[tuple[int, float]], curve: list[tuple[int, float]]
                    ) -> float:
    """Labels ``curve`` needs to reach random's final mAP50 (linear between rounds), over
    random's final count; above 1 when it never does (then 1 + the gap left)."""
    target_n, target = random_curve[-1]
    prev_n, prev = curve[0]
    if prev >= target:
        return prev_n / target_n
    for n, m in curve[1:]:
        if m >= target:
            return (prev_n + (n - prev_n) * (target - prev) / (m - prev)) / target_n
        prev_n, prev = n, m
    return 1.0 + (target - curve[-1][1])


def scale_run(n: int = 1_000_000, dim: int = 20) -> dict[str, Any]:
    """Selection and near-duplicates over ``n`` embeddings, in memory (peak via tracemalloc)."""
    import numpy as np

    from nblabel.curation.selection import select

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    unc = rng.random(n)
    out: dict[str, Any] = {"samples": n, "dim": dim, "embeddings_mb": round(x.nbytes / 2**20)}
    for method in ("combined", "diversity"):
        tracemalloc.start()
        t = time.perf_counter()
        picks = select(1000, method=method, uncertainty=unc, embeddings=x,
                       labeled=range(10_000), seed=0)
        out[method] = {"seconds": round(time.perf_counter() - t, 1),
                       "peak_mb": round(tracemalloc.get_traced_memory()[1] / 2**20),
                       "picks": len(picks)}
        tracemalloc.stop()
    return out


def scale_duplicates(n: int = 100_000, dim: int = 20) -> dict[str, Any]:
    """Near-duplicates of 10,000 reviewed images among ``n`` stored in FiftyOne."""
    import fiftyone as fo
    import numpy as np

    from nblabel.curation.brain import near_duplicates
    from nblabel.store.schema import EMBEDDING_FIELD

    rng = np.random.default_rng(1)
    ds = fo.Dataset("bench-active-scale")
    t = time.perf_counter()
    x = rng.normal(size=(n, dim)).astype(np.float32)
    x[10_000:20_000] = x[:10_000] + rng.normal(0, 0.01, size=(10_000, dim))  # near copies
    for start in range(0, n, 50_000):
        ds.add_samples([fo.Sample(filepath=f"/pool/{k}.jpg", **{EMBEDDING_FIELD: x[k]})
                        for k in range(start, min(n, start + 50_000))], progress=False)
    write_s = time.perf_counter() - t
    reviewed = ds.limit(10_000).values("id")
    tracemalloc.start()
    t = time.perf_counter()
    dup = near_duplicates(ds, reviewed, write=False)
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    ids = ds.values("id")
    found = sum(dup.get(ids[10_000 + k]) == ids[k] for k in range(10_000))
    return {"samples": n, "store_s": round(write_s, 1), "seconds": round(seconds, 1),
            "peak_mb": round(peak), "copies_found": found, "flagged": len(dup)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one seed, two rounds, no scale")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1_000_000,
                        help="embeddings to select among, in memory")
    parser.add_argument("--store", type=int, default=100_000,
                        help="samples stored in FiftyOne for near-duplicates of reviewed ones")
    args = parser.parse_args()
    seeds = [0] if args.quick else list(range(args.seeds))
    rounds = 2 if args.quick else ROUNDS
    work, mongod = private_fiftyone("active")
    try:
        jobs = [(s, seed) for s in ("generated", "real") for seed in seeds]
        base_without_triangles()  # once, before the workers need it
        # Spawned, not forked: torch in this process (the base model) must not be inherited.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
            results = []
            for job, r in zip(jobs, pool.map(run_seed, [j[0] for j in jobs],
                                             [j[1] for j in jobs], [work] * len(jobs),
                                             [rounds] * len(jobs)), strict=True):
                print(f"{job[0]} seed {job[1]}: {json.dumps(r['curves'])}", flush=True)
                results.append(r)
        from nblabel.demo import prepare_model
        from ranking import label_errors

        errors = label_errors(work, prepare_model(), 80 if args.quick else 200)
        scale = None if args.quick else {"selection": scale_run(args.scale),
                                          "near_duplicates": scale_duplicates(args.store)}
    finally:
        mongod.stop()
    curves: dict[str, dict[str, list[list[float]]]] = {}
    ratios: dict[str, float] = {}
    for s in ("generated", "real"):
        runs = [r for (name, _), r in zip(jobs, results, strict=True) if name == s]
        curves[s] = {}
        for m in METHODS:
            pts = [r["curves"][m] for r in runs]
            curves[s][m] = [[pts[0][i][0], round(sum(p[i][1] for p in pts) / len(pts), 3)]
                            for i in range(len(pts[0]))]
        ratios[s] = round(labels_to_match(curves[s]["random"], curves[s]["combined"]), 3)
        print(f"\n{s}: pool {runs[0]['pool']}, test {runs[0]['test']}; mAP50 by labeled images "
              f"(mean of {len(runs)} seeds); rare-family images labeled (mean): " + json.dumps(
                  {m: round(sum(r["rare_images"][m] for r in runs) / len(runs), 1)
                   for m in METHODS}))
        sizes = [n for n, _ in curves[s]["random"]]
        print_table(["method", *map(str, sizes), "labels to match random"],
                    [(m, *(v for _, v in curves[s][m]),
                      round(labels_to_match(curves[s]["random"], curves[s][m]), 3))
                     for m in METHODS])
    embed_rate = sum(r["embed_per_s"] for r in results) / len(results)
    print(f"\nlabel errors: nblabel AUROC {errors['auroc']}, cleanlab {errors['cleanlab_auroc']}"
          f" (best of its thresholds {errors['cleanlab_best_auroc']})")
    if scale:
        print("scale:", json.dumps(scale))
    emit({"labels_to_match_random": max(ratios.values()), "per_set": ratios, "curves": curves,
          "auroc": errors["auroc"], "cleanlab_auroc": errors["cleanlab_auroc"],
          "label_errors": errors, "embed_samples_per_s": round(embed_rate, 1), "scale": scale,
          "seeds": len(seeds), "quick": args.quick})


if __name__ == "__main__":
    main()
