"""Which review order finds the model's mistakes soonest?

A generated test set (shapes, smaller and more crowded than the training images) goes through
the demo detector ("model A", whose proposals a reviewer checks). An image is *wrong* when A's
proposals shown at the review threshold (0.25) differ from the generated truth: a missed object,
a spurious box, a mislocalised box (IoU with its object in [0.1, 0.5)) or a misclassified one.
The truth is known by construction, so the wrong subset is known; the orderings never see it.

Orderings, each a score per image (higher = review sooner), side by side in one run:

- ``random``: seeded shuffle;
- ``confidence``: the least confident proposal of the image (1 - min confidence; what a
  "sort by confidence" in FiftyOne gives);
- ``mistakenness``: FiftyOne Brain's ``compute_mistakenness`` of A's shown proposals against a
  second detector ("model B", trained separately on other images) as the reference, the
  sample's mistakenness plus its possible-missing and possible-spurious counts;
- ``nblabel``: ``compute_uncertainty(..., others=[B])`` on A's proposals with TTA
  instability, i.e. ``nblabel_difficulty``; it sees the same two models as mistakenness.

For each: AUROC of telling wrong images from right ones, and ``recall_at_20``, the share of the
wrong images in the first 20 % of the queue.

Second part, errors in the *labels* people made (issue 24): other generated images, their true
boxes as ground truth, then one error injected into a third of the images (seeded; each kind
equally often): a box dropped (``missing``), moved by half its size (``placed``), given another
class (``class``) or a box added where nothing is (``spurious``). Model A's predictions (it never
saw these images) are held against the corrupted labels by nblabel
(:func:`nblabel.curation.label_errors.find_label_errors`) and by cleanlab
(``cleanlab.object_detection.rank.get_label_quality_scores``, its recommended ranking, same
predictions, per-class scores from the same boxes); AUROC of telling corrupted images from clean
ones, overall and per kind.

Run: ``python bench/ranking.py [--quick]``; the last line is the JSON with the figures
(``label_errors``: ``auroc``, ``cleanlab_auroc``, per kind).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

# The benchmarks' helpers (bench/) and the test harnesses (tests/harness, from the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, parse_args, print_table, private_fiftyone

THRESHOLD = 0.25


def second_model(root: Path) -> Path:
    """Model B: the demo recipe on other images, fewer epochs (cached)."""
    weights = root / "model-b.pt"
    if weights.exists():
        return weights
    from nblabel.demo.synthetic import make_shapes, write_yolo_dataset
    from nblabel.learning import train_ultralytics

    train = make_shapes(root / "b-src" / "train", 160, seed=41, prefix="bt")
    val = make_shapes(root / "b-src" / "val", 30, seed=42, prefix="bv")
    data = write_yolo_dataset(root / "b-yolo", train, val)
    return train_ultralytics(data, weights, epochs=20, imgsz=160, seed=1)


def image_errors(truth: list[tuple[str, Any]], shown: list[tuple[str, Any]]) -> dict[str, int]:
    """Error counts of shown proposals against the truth (greedy matching by IoU)."""
    errors = {"missed": 0, "spurious": 0, "mislocalised": 0, "misclassified": 0}
    free = list(range(len(truth)))
    for label, box in shown:
        best, j = 0.0, None
        for k in free:
            v = box.iou(truth[k][1])
            if v > best:
                best, j = v, k
        if j is None or best < 0.1:
            errors["spurious"] += 1
            continue
        free.remove(j)
        if best < 0.5:
            errors["mislocalised"] += 1
        elif truth[j][0] != label:
            errors["misclassified"] += 1
    errors["missed"] = len(free)
    return errors


def auroc(scores: list[float], wrong: list[bool]) -> float:
    """Probability that a wrong image scores above a right one (ties count half)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(wrong, scores))


def recall_at(scores: list[float], wrong: list[bool], share: float = 0.2, seed: int = 0
              ) -> float:
    import random

    rng = random.Random(seed)  # ties broken at random, not by position
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], rng.random()))
    top = order[: round(len(scores) * share)]
    return sum(wrong[i] for i in top) / max(1, sum(wrong))


KINDS = ("missing", "placed", "class", "spurious")


def corrupt(images: list[Any], share: float = 1 / 3, seed: int = 0
            ) -> tuple[list[list[tuple[str, Any]]], list[str]]:
    """Labels per image (the truth with one injected error in ``share`` of the images) and the
    kind injected per image ("" for clean ones). Images without objects are only given
    spurious boxes."""
    import random

    from nblabel.core.labels import Box
    from nblabel.demo.synthetic import CLASSES

    rng = random.Random(seed)
    out, kinds = [], []
    for k, img in enumerate(images):
        labels = list(img.objects)
        kind = KINDS[k % 4] if rng.random() < share else ""
        if kind in ("missing", "placed", "class") and not labels:
            kind = "spurious"
        if kind == "missing":
            labels.pop(rng.randrange(len(labels)))
        elif kind == "placed":
            i = rng.randrange(len(labels))
            label, b = labels[i]
            dx, dy = rng.choice([-1, 1]) * b.w * 0.5, rng.choice([-1, 1]) * b.h * 0.5
            x = min(max(0.0, b.x + dx), img.width - b.w)
            y = min(max(0.0, b.y + dy), img.height - b.h)
            labels[i] = (label, Box(x, y, b.w, b.h))
        elif kind == "class":
            i = rng.randrange(len(labels))
            label, b = labels[i]
            labels[i] = (rng.choice([c for c in CLASSES if c != label]), b)
        elif kind == "spurious":
            side = rng.uniform(24, 60)
            labels.append((rng.choice(CLASSES), Box(rng.uniform(0, img.width - side),
                                                    rng.uniform(0, img.height - side),
                                                    side, side)))
        out.append(labels)
        kinds.append(kind)
    return out, kinds


def cleanlab_scores(labels: list[list[tuple[str, Any]]], preds: list[Any], sizes: list[Any],
                    high: float | None = None) -> list[float]:
    """cleanlab's label quality per image (1 - score: higher = more likely wrong). ``high``:
    its threshold for predictions counted as confident when looking for overlooked and swapped
    boxes (0.95 by default, above most of a small YOLO model's confidences; set through its
    internal scorer, as its public function does not take it)."""
    import numpy as np
    from cleanlab.object_detection.rank import (
        _get_subtype_label_quality_scores,
        get_label_quality_scores,
    )

    from nblabel.demo.synthetic import CLASSES

    def xyxy(b: Any) -> list[float]:
        return [b[0], b[1], b[0] + b[2], b[1] + b[3]]

    cl_labels, cl_preds = [], []
    for ls, dets, size in zip(labels, preds, sizes, strict=True):
        cl_labels.append({
            "bboxes": np.array([xyxy(b.as_list()) for _, b in ls], dtype=np.float32
                               ).reshape(-1, 4),
            "labels": np.array([CLASSES.index(c) for c, _ in ls], dtype=np.int64)})
        per_class = [[] for _ in CLASSES]
        for d in (dets.detections if dets else []):
            x, y, w, h = d.bounding_box
            box = [x * size.width, y * size.height, (x + w) * size.width, (y + h) * size.height]
            per_class[CLASSES.index(d.label)].append([*box, d.confidence])
        cl_preds.append([np.array(p, dtype=np.float32).reshape(-1, 5) for p in per_class])
    q = (get_label_quality_scores(cl_labels, cl_preds, verbose=False) if high is None else
         _get_subtype_label_quality_scores(cl_labels, cl_preds, high_probability_threshold=high))
    return [1.0 - float(v) for v in q]


def label_errors(work: Path, weights: Path, n: int, seed: int = 91) -> dict[str, Any]:
    """nblabel's and cleanlab's AUROC on injected label errors (see the module doc)."""
    import fiftyone as fo

    from nblabel.curation.label_errors import find_label_errors
    from nblabel.demo.synthetic import make_shapes
    from nblabel.preannotation import preannotate
    from nblabel.sources import UltralyticsSource

    images = make_shapes(work / "label-errors", n, seed=seed, max_objects=3)
    labels, kinds = corrupt(images, seed=seed)
    ds = fo.Dataset(f"bench-label-errors-{seed}")
    ds.add_samples([fo.Sample(filepath=str(img.path), ground_truth=fo.Detections(detections=[
        fo.Detection(label=c, bounding_box=b.to_relative(img.size)) for c, b in ls]))
        for img, ls in zip(images, labels, strict=True)], progress=False)
    preannotate(ds, UltralyticsSource(weights, imgsz=160, conf=0.05), "predictions",
                progress=False)
    ids = ds.values("id")
    found = find_label_errors(ds, "ground_truth", "predictions")
    ours = [found.scores[s] for s in ids]
    preds, sizes = ds.values("predictions"), [i.size for i in images]
    theirs = cleanlab_scores(labels, preds, sizes)
    tuned = {h: cleanlab_scores(labels, preds, sizes, high=h) for h in (0.5, 0.7, 0.85)}
    wrong = [bool(k) for k in kinds]
    best_h = max(tuned, key=lambda h: auroc(tuned[h], wrong))
    figures: dict[str, Any] = {"images": n, "corrupted": sum(wrong),
                               "auroc": round(auroc(ours, wrong), 3),
                               "cleanlab_auroc": round(auroc(theirs, wrong), 3),
                               "cleanlab_best_auroc": round(auroc(tuned[best_h], wrong), 3),
                               "cleanlab_best_high": best_h}
    for kind in KINDS:  # each kind against the clean images
        keep = [i for i, k in enumerate(kinds) if k in ("", kind)]
        w = [bool(kinds[i]) for i in keep]
        figures[kind] = {"nblabel": round(auroc([ours[i] for i in keep], w), 3),
                         "cleanlab": round(auroc([theirs[i] for i in keep], w), 3),
                         "images": sum(w)}
    return figures


def main() -> None:
    args = parse_args(__doc__ or "")
    n = 120 if args.quick else 400
    work, mongod = private_fiftyone("ranking")
    try:
        import fiftyone as fo
        import fiftyone.brain as fob
        from fiftyone import ViewField as F

        from nblabel.core.labels import Box
        from nblabel.curation.uncertainty import DIFFICULTY_FIELD, compute_uncertainty
        from nblabel.demo import demo_dir, prepare_model
        from nblabel.demo.synthetic import make_shapes
        from nblabel.preannotation import preannotate
        from nblabel.sources import UltralyticsSource

        t0 = time.perf_counter()
        weights_a = prepare_model()
        weights_b = second_model(demo_dir() / "bench-ranking")
        images = make_shapes(work / "img", n, seed=78, max_objects=3)
        ds = fo.Dataset("bench-ranking")
        ds.add_samples([fo.Sample(filepath=str(i.path)) for i in images], progress=False)
        preannotate(ds, UltralyticsSource(weights_a, imgsz=160, conf=0.05), "predictions",
                    tta=True, progress=False)
        preannotate(ds, UltralyticsSource(weights_b, imgsz=160, conf=0.05), "second",
                    progress=False)

        # Ground truth of wrongness (never shown to the orderings).
        by_path = {str(i.path): i for i in images}
        ids, paths, preds = ds.values(["id", "filepath", "predictions"])
        wrong: list[bool] = []
        kinds = {"missed": 0, "spurious": 0, "mislocalised": 0, "misclassified": 0}
        for path, dets in zip(paths, preds, strict=True):
            img = by_path[path]
            shown = [(d.label, Box.from_relative(d.bounding_box, img.size))
                     for d in dets.detections if d.confidence >= THRESHOLD]
            errs = image_errors(list(img.objects), shown)
            wrong.append(any(errs.values()))
            for k, v in errs.items():
                kinds[k] += v

        scores: dict[str, list[float]] = {}
        import random

        rng = random.Random(0)
        scores["random"] = [rng.random() for _ in ids]
        confs = ds.values("predictions.detections.confidence")
        scores["confidence"] = [1.0 - min(cs) if cs else 0.0 for cs in confs]

        shown_view = ds.filter_labels("predictions", F("confidence") >= THRESHOLD,
                                      only_matches=False)
        ds.set_values("shown", shown_view.values("predictions"))
        fob.compute_mistakenness(ds, "second", label_field="shown", progress=False)
        m, miss, spur = ds.values(["mistakenness", "possible_missing", "possible_spurious"])
        scores["mistakenness"] = [(a or 0.0) + (b or 0) + (c or 0)
                                  for a, b, c in zip(m, miss, spur, strict=True)]

        compute_uncertainty(ds, "predictions", others=["second"], threshold=THRESHOLD)
        scores["nblabel"] = [v or 0.0 for v in ds.values(DIFFICULTY_FIELD)]
        labels_part = label_errors(work, weights_a, n)
        elapsed = time.perf_counter() - t0
    finally:
        mongod.stop()

    names = ["random", "confidence", "mistakenness", "nblabel"]
    aurocs = {k: round(auroc(scores[k], wrong), 3) for k in names}
    recalls = {k: round(recall_at(scores[k], wrong), 3) for k in names}
    print(f"{n} images, {sum(wrong)} wrong ({sum(wrong) / n:.0%}); errors of model A at "
          f"{THRESHOLD}: {kinds}; {elapsed:.0f} s\n")
    print_table(["ordering", "AUROC", "wrong found in first 20 %"],
                [(k, aurocs[k], recalls[k]) for k in names])
    best_other = max(aurocs[k] for k in names[:-1])
    print(f"\nnblabel AUROC {aurocs['nblabel']} vs best other {best_other}; recall@20 "
          f"{recalls['nblabel']} vs {max(recalls[k] for k in names[:-1])}")
    print(f"\nlabel errors: {labels_part['corrupted']} of {labels_part['images']} images "
          "corrupted")
    print_table(["errors", "nblabel AUROC", "cleanlab AUROC", "images"],
                [("all", labels_part["auroc"], labels_part["cleanlab_auroc"],
                  labels_part["corrupted"])]
                + [(k, labels_part[k]["nblabel"], labels_part[k]["cleanlab"],
                    labels_part[k]["images"]) for k in KINDS])
    emit({"auroc": aurocs, "recall_at_20": recalls, "images": n, "wrong": sum(wrong),
          "error_kinds": kinds, "label_errors": labels_part, "quick": args.quick})


if __name__ == "__main__":
    main()
