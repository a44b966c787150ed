"""The demo: real images with exemplar proposals (the quickstart's FiftyOne dataset), and generated
shapes with a nano YOLO trained on them from scratch (the tests' and the online-learning
notebook's model).

``python -m nblabel.demo prepare`` builds everything once and caches it (in ``$NBLABEL_DEMO_DIR``,
by default ``~/.cache/nblabel/demo``); later calls return at once. Nothing is downloaded: the
images ship inside scikit-image, the model is built from ``yolov8n.yaml``. The demo dataset
(:func:`load_demo_dataset`) holds the derived truth in ``truth`` (hidden from the review, for
evaluation), the proposals in ``predictions``, and one deliberately corrupt image.
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


#: The demo dataset's recipe (a change rebuilds it): real images, exemplar proposals.
_DEMO_RECIPE = {"version": 3, "tile": 192, "seed_tile": 4, "coin_exemplars": 3}


def _dataset_stamp(root: Path) -> dict[str, object]:
    return {**_DEMO_RECIPE, "root": str(root.resolve())}


def load_demo_dataset(
    name: str = DEMO_DATASET, root: Path | None = None, overwrite: bool = False
) -> fo.Dataset:
    """The demo FiftyOne dataset: real images with proposals worth reviewing, built (persistent)
    in seconds on first use, offline.

    - scikit-image's ``coins`` photo: the reviewer drew three coins (the first three true boxes
      in reading order, taken as exemplars); the exemplar assistant proposes the rest.
    - eight 192 px tiles of ``immunohistochemistry`` (colon tissue; 512 px cut 3x3 with the
      last tiles aligned to the edges): the nuclei of the centre tile, labelled as a reviewer
      would, are the exemplars (that tile is left out of the review; the four tiles beside it
      share a 32 px strip with it); the assistant proposes on the others.
    - one deliberately corrupt file, to show how a broken image is handled.

    The truth (:mod:`nblabel.demo.real`: a documented classic-analysis method) is in ``truth``,
    hidden from the review, for evaluation. Proposals are :class:`~nblabel.sources.ExemplarSource`
    boxes (source ``exemplars``, confidence = mean pixel probability): at confidence 0.3 about
    0.96 recall / 1.0 precision on the coins and 0.65-0.94 / 0.6-0.94 on the nuclei tiles (IoU
    0.5) - good enough to be worth reviewing, imperfect enough to need it.
    """
    import fiftyone as fo
    from PIL import Image

    from nblabel.demo.real import coins, nuclei, write_tiles
    from nblabel.preannotation import preannotate
    from nblabel.sources import ExemplarSource

    root = root or demo_dir()
    if fo.dataset_exists(name):
        ds = fo.load_dataset(name)
        if not overwrite and ds.info.get(DEMO_INFO_KEY) == _dataset_stamp(root) and len(ds):
            return ds
        ds.delete()
    images = root / "real"
    images.mkdir(parents=True, exist_ok=True)
    photo = coins()
    coin_path = images / "coins.png"
    Image.fromarray(photo.pixels).save(coin_path)
    tiles = write_tiles(nuclei(), images, _DEMO_RECIPE["tile"])
    seed = tiles.pop(_DEMO_RECIPE["seed_tile"])
    broken = images / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")

    def truth(size: tuple[int, int], objects: Any) -> fo.Detections:
        from nblabel.core.labels import ImageSize

        isz = ImageSize(*size)
        return fo.Detections(detections=[fo.Detection(label=label,
                                                      bounding_box=box.to_relative(isz))
                                         for label, box in objects])

    ds = fo.Dataset(name)
    ds.persistent = True
    ds.add_samples(
        [fo.Sample(filepath=str(coin_path), family="coins",
                   truth=truth((photo.size.width, photo.size.height),
                               [(photo.label, b) for b in photo.boxes]))]
        + [fo.Sample(filepath=str(t.path), family="nuclei",
                     truth=truth((t.width, t.height), t.objects)) for t in tiles]
        + [fo.Sample(filepath=str(broken), family="broken")], progress=False)
    ds.default_classes = ["coin", "nucleus"]
    coin_source = ExemplarSource()
    drawn = list(photo.boxes)
    coin_image = Image.fromarray(photo.pixels)  # read once, not per exemplar
    for box in drawn[:_DEMO_RECIPE["coin_exemplars"]]:
        coin_source.add(coin_image, "coin", box, origin="coins.png", others=drawn)
    nuclei_source = ExemplarSource()
    seed_image = Image.open(seed.path)
    seed_boxes = [b for _, b in seed.objects]
    for box in seed_boxes:
        try:
            nuclei_source.add(seed_image, "nucleus", box, origin=seed.path.name,
                              others=seed_boxes)
        except ValueError:  # a nucleus too small to be an exemplar
            continue
    nuclei_source.add_background(seed_image, seed_boxes)
    from fiftyone import ViewField as F

    preannotate(ds.match(F("family") == "coins"), coin_source, "predictions", progress=False)
    preannotate(ds.match(F("family") != "coins"), nuclei_source, "predictions", progress=False)
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
          f"{ds.count('predictions.detections')} proposals; images in {demo_dir() / 'real'}")

