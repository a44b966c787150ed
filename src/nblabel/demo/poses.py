"""Generated stick figures with known keypoints, for keypoint tests, the benchmark and the demo.

Each figure is a 7-point skeleton (:data:`STICK`: head, neck, hip, hands, feet) drawn as limbs
of random pose, scale and colour. Truth is exact by construction: the points the limbs were
drawn from. A hand or foot is sometimes covered by a grey patch drawn over it: it stays in the
truth as occluded (COCO visibility 1), as an annotator would label it.

Three image families: the pose model trains on the first two, the third is held out to check
that a result is not one family's:

- ``"plain"``: noise on a flat colour;
- ``"texture"``: crops of scikit-image's real texture photos (brick, grass, gravel), which
  have edges and grain of their own that limbs can be mistaken for;
- ``"photo"`` (held out): crops of scikit-image's real colour photos (astronaut, coffee, cat,
  rocket, coins), with objects, edges and colours of every kind behind the figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nblabel.core.shapes import Skeleton

__all__ = ["FAMILIES", "STICK", "Figure", "make_pose_dataset", "pose_image"]

STICK = Skeleton(("head", "neck", "hip", "left_hand", "right_hand", "left_foot", "right_foot"),
                 ((0, 1), (1, 2), (1, 3), (1, 4), (2, 5), (2, 6)))
FAMILIES = ("plain", "texture", "photo")
_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "coins")

Point = tuple[float, float, bool]  # x, y, visible


@dataclass(frozen=True)
class Figure:
    """One figure's truth: class and its 7 points ``(x, y, visible)`` in pixels."""

    label: str
    points: tuple[Point, ...]


def _background(rng: np.random.Generator, size: int, family: str) -> np.ndarray:
    if family == "plain":
        base = rng.integers(40, 200, 3)
        noise = rng.normal(0, 12, (size, size, 3))
        return np.clip(base + noise, 0, 255).astype(np.uint8)
    import skimage.data

    if family == "photo":
        name = str(rng.choice(_PHOTOS))
        photo = getattr(skimage.data, name)()
        photo = photo if photo.ndim == 3 else np.repeat(photo[..., None], 3, axis=2)
        if min(photo.shape[:2]) <= size:
            raise ValueError(f"size={size} is too large for the 'photo' family: scikit-image's "
                             f"{name} photo is {photo.shape[1]}x{photo.shape[0]} pixels (use a "
                             f"size below {min(photo.shape[:2])})")
        y, x = rng.integers(0, photo.shape[0] - size), rng.integers(0, photo.shape[1] - size)
        return np.ascontiguousarray(photo[y:y + size, x:x + size, :3])
    tex = getattr(skimage.data, str(rng.choice(["brick", "grass", "gravel"])))()
    y, x = rng.integers(0, tex.shape[0] - size), rng.integers(0, tex.shape[1] - size)
    crop = tex[y:y + size, x:x + size].astype(np.float32)
    tint = rng.uniform(0.6, 1.2, 3)
    return np.clip(crop[..., None] * tint, 0, 255).astype(np.uint8)


def _figure(rng: np.random.Generator, cx: float, cy: float, s: float) -> list[tuple[float, float]]:
    neck = (cx, cy - 0.25 * s)
    lean = rng.uniform(-0.3, 0.3)
    head = (neck[0] + 0.22 * s * math.sin(lean), neck[1] - 0.22 * s * math.cos(lean))
    hip = (cx + rng.uniform(-0.08, 0.08) * s, cy + 0.2 * s)

    def limb(frm: tuple[float, float], angle: float, length: float) -> tuple[float, float]:
        return (frm[0] + length * s * math.cos(angle), frm[1] + length * s * math.sin(angle))

    left_hand = limb(neck, rng.uniform(math.pi * 0.55, math.pi * 1.25), rng.uniform(0.3, 0.42))
    right_hand = limb(neck, rng.uniform(-math.pi * 0.25, math.pi * 0.45), rng.uniform(0.3, 0.42))
    left_foot = limb(hip, rng.uniform(math.pi * 0.55, math.pi * 0.8), rng.uniform(0.35, 0.45))
    right_foot = limb(hip, rng.uniform(math.pi * 0.2, math.pi * 0.45), rng.uniform(0.35, 0.45))
    return [head, neck, hip, left_hand, right_hand, left_foot, right_foot]


def pose_image(rng: np.random.Generator, size: int = 160, family: str = "plain",
               max_figures: int = 3) -> tuple[np.ndarray, list[Figure]]:
    """An RGB image of 1 to ``max_figures`` stick figures and their truth."""
    import cv2

    if family not in FAMILIES:
        raise ValueError(f"unknown pose family {family!r}: use one of {FAMILIES}")
    img = np.ascontiguousarray(_background(rng, size, family))
    figures: list[Figure] = []
    placed: list[tuple[float, float, float]] = []
    for _ in range(int(rng.integers(1, max_figures + 1))):
        for _try in range(20):
            s = float(rng.uniform(0.28, 0.5) * size)
            cx = float(rng.uniform(0.3 * s, size - 0.3 * s))
            cy = float(rng.uniform(0.5 * s, size - 0.45 * s))
            if all(abs(cx - x) > 0.55 * (s + t) or abs(cy - y) > 0.7 * (s + t)
                   for x, y, t in placed):
                break
        else:
            continue
        placed.append((cx, cy, s))
        pts = _figure(rng, cx, cy, s)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        width = max(2, round(s / 22))
        ipts = [(round(x), round(y)) for x, y in pts]
        for a, b in STICK.edges:
            cv2.line(img, ipts[a], ipts[b], colour, width, cv2.LINE_AA)
        cv2.circle(img, ipts[0], max(3, round(s / 9)), colour, -1, cv2.LINE_AA)
        for k in range(3, 7):  # hands and feet: small blobs at the ends of the limbs
            cv2.circle(img, ipts[k], max(2, round(s / 16)), colour, -1, cv2.LINE_AA)
        visible = [True] * 7
        if rng.random() < 0.25:  # a grey patch over a hand or a foot
            k = int(rng.integers(3, 7))
            r = max(4, round(s / 10))
            x, y = ipts[k]
            cv2.rectangle(img, (x - r, y - r), (x + r, y + r), (128, 128, 128), -1)
            visible[k] = False
        figures.append(Figure("person", tuple((x, y, v) for (x, y), v
                                              in zip(pts, visible, strict=True))))
    return img, figures


def make_pose_dataset(folder: str | Path, n: int, *, seed: int = 0, family: str = "plain",
                      size: int = 160) -> list[tuple[Path, list[Figure]]]:
    """``n`` PNG images of stick figures in ``folder``, with their truth."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img, figs = pose_image(rng, size, family)
        path = folder / f"{family}-{seed}-{i:04d}.png"
        Image.fromarray(img).save(path)
        out.append((path, figs))
    return out


def figures_to_shapes(figures: list[Figure]) -> list[Any]:
    """The truth of an image as reviewed keypoint shapes (status ``added``)."""
    from nblabel.core.shapes import Shape, new_id

    return [Shape(new_id(), "keypoints", f.label, tuple((x, y) for x, y, _ in f.points),
                  visible=tuple(v for _, _, v in f.points), point_status=("added",) * 7,
                  status="added") for f in figures]


def truth_dataset(name: str, items: list[tuple[Path, list[Figure]]], *,
                  field: str = "gt_keypoints", reviewed: bool = True) -> Any:
    """A FiftyOne dataset of ``items`` whose ``field`` holds the true figures (tagged
    ``reviewed``: what a finished review leaves), with the :data:`STICK` skeleton."""
    import fiftyone as fo

    from nblabel.store.schema import REVIEWED_TAG
    from nblabel.store.shapes import set_skeleton, write_shapes

    ds = fo.Dataset(name, overwrite=True)
    ids = ds.add_samples([fo.Sample(filepath=str(p), tags=[REVIEWED_TAG] if reviewed else [])
                          for p, _ in items], progress=False)
    set_skeleton(ds, field, STICK)
    write_shapes(ds, {sid: figures_to_shapes(f) for sid, (_, f) in zip(ids, items,
                                                                      strict=True)},
                 field, "keypoints")
    return ds


#: The pose model's recipe (a change retrains it): trained from its yaml for ``epochs``, then
#: fine-tuned from those weights for each of ``finetune_epochs`` in turn (a new learning-rate
#: schedule each time). The review saving of bench/label_kinds.py: 0.42 after 80 epochs, 0.54
#: after 160, 0.59 after 160 + 160, 0.635 after 160 + 160 + 160. Mosaic is off: it shrinks
#: figures four times in 160 px images.
STAGE1_RECIPE: dict[str, Any] = {"version": 5, "yaml": "yolov8n-pose.yaml", "train": 320,
                                 "val": 40, "epochs": 160, "imgsz": 160,
                                 "families": ["plain", "texture"],
                                 "train_args": {"mosaic": 0.0, "scale": 0.2}}
POSE_RECIPE: dict[str, Any] = {**STAGE1_RECIPE, "finetune_epochs": [160, 160]}


def _stamped(weights: Path, stamp: Path, recipe: dict[str, Any]) -> bool:
    import json

    return weights.exists() and stamp.exists() and json.loads(stamp.read_text()) == recipe


def prepare_pose_model(root: Path | None = None) -> Path:
    """A small YOLO pose model trained from its yaml on :func:`make_pose_dataset` figures of
    the ``plain`` and ``texture`` families (``photo`` is held out), through nblabel's own YOLO
    pose export; each stage is cached like the demo models (about 50 min on 2 CPU cores the
    first time)."""
    import json
    import uuid

    import fiftyone as fo

    from nblabel.curation.shape_export import export_shapes
    from nblabel.demo.prepare import demo_dir
    from nblabel.learning import train_ultralytics

    root = (root or demo_dir()) / "pose-model"
    stage1, stamp1 = root / "stick-pose.pt", root / "recipe.json"
    r = STAGE1_RECIPE
    data = root / "data" / "dataset.yaml"
    stages: list[int] = list(POSE_RECIPE["finetune_epochs"])
    last = root / f"stick-pose-ft{len(stages)}.pt"
    if _stamped(last, root / f"recipe-ft{len(stages)}.json", POSE_RECIPE):
        return last
    if not _stamped(stage1, stamp1, r) or not data.exists():
        n = (r["train"] + r["val"]) // len(r["families"])
        items = [it for k, fam in enumerate(r["families"])
                 for it in make_pose_dataset(root / "src", n, seed=1 + k, family=fam)]
        ds = truth_dataset(f"pose-train-{uuid.uuid4().hex[:8]}", items)
        try:
            data = export_shapes(ds, root / "data", "yolo-pose", overwrite=True,
                                 val_fraction=r["val"] / len(items))
        finally:
            fo.delete_dataset(ds.name)
    if not _stamped(stage1, stamp1, r):
        train_ultralytics(data, stage1, model=r["yaml"], epochs=r["epochs"],
                          imgsz=r["imgsz"], precision="fp32", **r["train_args"])
        stamp1.write_text(json.dumps(r))
    previous = stage1
    for k, epochs in enumerate(stages, 1):
        weights, stamp = root / f"stick-pose-ft{k}.pt", root / f"recipe-ft{k}.json"
        recipe = {**r, "finetune_epochs": stages[:k]}
        if not _stamped(weights, stamp, recipe):
            train_ultralytics(data, weights, model=previous, epochs=epochs, imgsz=r["imgsz"],
                              precision="fp32", **r["train_args"])
            stamp.write_text(json.dumps(recipe))
        previous = weights
    return previous
