"""The demo: generated shapes, a nano YOLO trained on them from scratch, and a FiftyOne dataset.

``python -m nblabel.demo prepare`` builds everything once and caches it (in ``$NBLABEL_DEMO_DIR``,
by default ``~/.cache/nblabel/demo``); later calls return at once. Nothing is downloaded: the model
is built from ``yolov8n.yaml``. The demo dataset holds the generated truth in ``truth`` (hidden
from the review, for evaluation), the model's proposals in ``predictions``, and one deliberately
corrupt image, to show how the widget handles it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nblabel.demo.synthetic import (
    CLASSES,
    make_shapes,
    write_classification_dataset,
    write_yolo_dataset,
)
from nblabel.store.schema import DEMO_INFO_KEY

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["DEMO_DATASET", "LEARNING_DATASET", "demo_dir", "load_demo_dataset",
           "load_learning_dataset", "prepare_model", "prepare_task_model"]

DEMO_DATASET = "nblabel-demo"
_TRAIN, _VAL, _DEMO = 240, 40, 30
_EPOCHS, _IMGSZ, _SIZE = 30, 160, (320, 240)
# What the cached files were built with: a change invalidates the cache.
_RECIPE = {"version": 2, "train": _TRAIN, "val": _VAL, "demo": _DEMO, "epochs": _EPOCHS,
           "imgsz": _IMGSZ, "size": list(_SIZE)}


def demo_dir() -> Path:
    """``$NBLABEL_DEMO_DIR``, by default ``~/.cache/nblabel/demo``."""
    env = os.environ.get("NBLABEL_DEMO_DIR")
    return Path(env) if env else Path.home() / ".cache" / "nblabel" / "demo"


def _recipe_matches(stamp: Path, recipe: dict[str, Any] = _RECIPE) -> bool:
    return stamp.exists() and json.loads(stamp.read_text()) == recipe


def prepare_model(root: Path | None = None) -> Path:
    """The demo detector's weights, trained on generated shapes on first use (minutes on CPU)."""
    root = root or demo_dir()
    weights = root / "model" / "shapes-yolov8n.pt"
    stamp = root / "model" / "recipe.json"
    if weights.exists() and _recipe_matches(stamp):
        return weights
    from nblabel.learning import train_ultralytics

    train = make_shapes(root / "train-src" / "train", _TRAIN, seed=1, size=_SIZE, prefix="train")
    val = make_shapes(root / "train-src" / "val", _VAL, seed=2, size=_SIZE, prefix="val")
    data = write_yolo_dataset(root / "yolo", train, val)
    # float32: the same weights on every CPU, whether it has bfloat16 or not (the tests and
    # benchmarks start from this model).
    train_ultralytics(data, weights, epochs=_EPOCHS, imgsz=_IMGSZ, precision="fp32")
    stamp.write_text(json.dumps(_RECIPE))
    return weights


_TASK_RECIPES: dict[str, dict[str, Any]] = {
    # Small and quick (seconds to a minute on CPU): enough for the segment and classify paths
    # to give real, varied outputs; not for accuracy. The classifier has dropout, for MC dropout.
    # The segmenter starts from the demo detector's weights (backbone, neck and box head).
    "segment": {"version": 2, "yaml": "yolov8n-seg.yaml", "train": 64, "val": 16, "epochs": 10,
                "imgsz": 160, "train_args": {}, "from_detector": True},
    "classify": {"version": 1, "yaml": "yolov8n-cls.yaml", "train": 90, "val": 30, "epochs": 12,
                 "imgsz": 64, "train_args": {"dropout": 0.3}},
}


def prepare_task_model(task: str, root: Path | None = None) -> Path:
    """A small ``segment`` or ``classify`` YOLO trained from its yaml on generated shapes
    (cached like the demo detector); the tests use them."""
    recipe = _TASK_RECIPES[task]
    root = (root or demo_dir()) / f"{task}-model"
    weights = root / f"shapes-{task}.pt"
    stamp = root / "recipe.json"
    if weights.exists() and _recipe_matches(stamp, recipe):
        return weights
    from nblabel.learning import train_ultralytics

    single: dict[str, Any] = {"max_objects": 1, "min_side": 60} if task == "classify" else {}
    train = make_shapes(root / "src" / "train", recipe["train"], seed=4, prefix="t", **single)
    val = make_shapes(root / "src" / "val", recipe["val"], seed=5, prefix="v", **single)
    if task == "classify":
        data = write_classification_dataset(root / "data", train, val)
    else:
        data = write_yolo_dataset(root / "data", train, val, task="segment")
    extra = dict(recipe["train_args"])
    if recipe.get("from_detector"):
        extra["pretrained"] = str(prepare_model(root.parent))
    train_ultralytics(data, weights, model=recipe["yaml"], epochs=recipe["epochs"],
                      imgsz=recipe["imgsz"], precision="fp32", **extra)  # as the detector
    stamp.write_text(json.dumps(recipe))
    return weights


def _dataset_stamp(root: Path) -> dict[str, object]:
    return {**_RECIPE, "root": str(root.resolve())}


def load_demo_dataset(
    name: str = DEMO_DATASET, root: Path | None = None, overwrite: bool = False
) -> fo.Dataset:
    """The demo FiftyOne dataset with proposals, built (persistent) on first use."""
    import fiftyone as fo

    from nblabel.preannotation import preannotate
    from nblabel.sources import UltralyticsSource

    root = root or demo_dir()
    weights = prepare_model(root)
    if fo.dataset_exists(name):
        ds = fo.load_dataset(name)
        if not overwrite and ds.info.get(DEMO_INFO_KEY) == _dataset_stamp(root) and len(ds):
            return ds
        ds.delete()
    images = make_shapes(root / "images", _DEMO, seed=3, size=_SIZE, prefix="demo")
    broken = root / "images" / "demo_broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    ds = fo.Dataset(name)
    ds.persistent = True
    samples = [
        fo.Sample(
            filepath=str(img.path),
            truth=fo.Detections(detections=[
                fo.Detection(label=label, bounding_box=box.to_relative(img.size))
                for label, box in img.objects
            ]),
        )
        for img in images
    ]
    samples.append(fo.Sample(filepath=str(broken)))
    ds.add_samples(samples, progress=False)
    ds.default_classes = list(CLASSES)
    source = UltralyticsSource(weights, imgsz=_IMGSZ, conf=0.1)
    preannotate(ds, source, "predictions", progress=False)
    ds.info[DEMO_INFO_KEY] = _dataset_stamp(root)
    ds.save()
    return ds


LEARNING_DATASET = "nblabel-online"


def load_learning_dataset(
    name: str = LEARNING_DATASET, n: int = 160, root: Path | None = None,
    overwrite: bool = False,
) -> fo.Dataset:
    """Unlabeled generated images for the online-learning notebook: more, smaller and larger
    objects than the demo model was trained on (0 to 10 of 18 to 120 px). The generated truth is
    in ``truth`` (for the simulated reviewer and evaluation; the review never shows it)."""
    import fiftyone as fo

    root = (root or demo_dir()) / "online"
    if fo.dataset_exists(name):
        ds = fo.load_dataset(name)
        if not overwrite and len(ds) == n:
            return ds
        ds.delete()
    images = make_shapes(root / "images", n, seed=2027, size=_SIZE, max_objects=10,
                         min_side=18, max_side=120, prefix="online")
    ds = fo.Dataset(name)
    ds.persistent = True
    ds.add_samples([
        fo.Sample(filepath=str(img.path), truth=fo.Detections(detections=[
            fo.Detection(label=label, bounding_box=box.to_relative(img.size))
            for label, box in img.objects]))
        for img in images
    ], progress=False)
    ds.default_classes = list(CLASSES)
    return ds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nblabel.demo", description=__doc__)
    parser.add_argument("command", choices=["prepare"])
    parser.add_argument("--overwrite", action="store_true", help="rebuild the FiftyOne dataset")
    args = parser.parse_args(argv)
    os.environ.setdefault("YOLO_VERBOSE", "False")
    ds = load_demo_dataset(overwrite=args.overwrite)
    print(f"demo dataset {ds.name!r}: {len(ds)} samples, "
          f"{ds.count('predictions.detections')} proposals; model in {demo_dir() / 'model'}")

