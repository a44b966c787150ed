"""Training that works on a handful of reviewed images and no pretrained weights.

Three things a plain ``yolo train`` on ten images gets wrong, and what nblabel does instead:

- **Too few objects.** :func:`copy_paste` makes synthetic training images: reviewed objects cut
  out (their boxes) and pasted, flipped and slightly rescaled, onto other reviewed images at
  places where they overlap no labelled object, with their boxes added to the labels. Only
  reviewed images are used as backgrounds (an unreviewed one may hold unlabelled objects, which
  would be taught as background). Ultralytics' own ``copy_paste`` needs instance masks; this one
  works with boxes.
- **A schedule for a large data set.** :func:`schedule` sizes epochs by images seen (about
  ``images_seen`` image presentations in all, between ``min_epochs`` and ``max_epochs``) and
  stops early on the reviewed validation split (``patience``).
- **Small objects shrunk away.** :func:`train_size` picks the training size so that the median
  object is at least ``min_object`` px after resizing (small tiles are upscaled), a multiple of
  32, at most ``max_size``; images larger than that are cut into overlapping tiles for training
  (:func:`tile_split`), as :class:`nblabel.sources.SlicedSource` does at proposal time.

Pretrained weights (``yolo11n.pt`` and the like) are used when the user has them: pass them as
the model; nothing here downloads.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nblabel.core.labels import Box

__all__ = ["Labeled", "copy_paste", "prepare_small_data", "read_yolo_split", "schedule",
           "tile_split", "train_size", "write_yolo_labels"]


@dataclass(frozen=True)
class Labeled:
    """A training image on disk and its objects ``(class index, pixel box)``."""

    path: Path
    objects: tuple[tuple[int, Box], ...]


def schedule(n_images: int, *, images_seen: int = 3000, min_epochs: int = 15,
             max_epochs: int = 150, patience: int = 15) -> dict[str, int]:
    """Epochs (and early-stopping patience) for ``n_images`` training images."""
    if n_images < 1:
        raise ValueError("no training images")
    epochs = int(min(max_epochs, max(min_epochs, math.ceil(images_seen / n_images))))
    return {"epochs": epochs, "patience": min(patience, epochs)}


def train_size(image_sides: Sequence[int], object_sides: Sequence[float], *,
               min_object: float = 20.0, max_size: int = 640) -> int:
    """The training image size that keeps the median object at least ``min_object`` px."""
    if not image_sides:
        raise ValueError("no images")
    side = max(image_sides)
    median = float(np.median(object_sides)) if len(object_sides) else min_object
    scale = max(1.0, min(4.0, min_object / max(median, 1.0)))
    return int(min(max_size, max(64, 32 * math.ceil(side * scale / 32))))


def copy_paste(images: Sequence[Labeled], out_dir: str | os.PathLike[str], n: int, *,
               per_image: tuple[int, int] = (3, 12), scale: tuple[float, float] = (0.8, 1.25),
               seed: int = 0) -> list[Labeled]:
    """Write ``n`` synthetic images into ``out_dir`` (see the module doc); returns them with
    their labels (the background's own objects plus the pasted ones)."""
    from PIL import Image

    rng = random.Random(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pixels = {im.path: np.asarray(Image.open(im.path).convert("RGB")) for im in images}
    crops = []
    for im in images:
        px = pixels[im.path]
        for cls, b in im.objects:
            x1, y1 = int(b.x), int(b.y)
            x2, y2 = math.ceil(b.x2), math.ceil(b.y2)
            if x2 - x1 >= 2 and y2 - y1 >= 2:
                crops.append((cls, px[y1:y2, x1:x2]))
    if not crops or not images:
        return []
    made = []
    for k in range(n):
        bg = images[rng.randrange(len(images))]
        canvas = pixels[bg.path].copy()
        H, W = canvas.shape[:2]
        boxes = [b for _, b in bg.objects]
        objects = list(bg.objects)
        for _ in range(rng.randint(*per_image)):
            cls, crop = crops[rng.randrange(len(crops))]
            s = rng.uniform(*scale)
            h = max(2, min(H - 1, round(crop.shape[0] * s)))
            w = max(2, min(W - 1, round(crop.shape[1] * s)))
            patch = np.asarray(Image.fromarray(crop).resize((w, h)))
            if rng.random() < 0.5:
                patch = patch[:, ::-1]
            if rng.random() < 0.5:
                patch = patch[::-1]
            for _try in range(20):
                x, y = rng.randrange(0, W - w + 1), rng.randrange(0, H - h + 1)
                box = Box(x, y, w, h)
                if not any(_touch(box, o) for o in boxes):
                    canvas[y:y + h, x:x + w] = patch
                    boxes.append(box)
                    objects.append((cls, box))
                    break
        path = out / f"copypaste-{seed}-{k:04d}.png"
        Image.fromarray(canvas).save(path)
        made.append(Labeled(path, tuple(objects)))
    return made


def _touch(a: Box, b: Box) -> bool:
    return not (a.x2 <= b.x or b.x2 <= a.x or a.y2 <= b.y or b.y2 <= a.y)


def write_yolo_labels(items: Sequence[Labeled], labels_dir: str | os.PathLike[str]) -> None:
    """YOLO label files (``class cx cy w h``, relative) for ``items``, named after the images."""
    from PIL import Image

    out = Path(labels_dir)
    out.mkdir(parents=True, exist_ok=True)
    for it in items:
        with Image.open(it.path) as im:
            W, H = im.size
        lines = [f"{c} {(b.x + b.w / 2) / W:.6f} {(b.y + b.h / 2) / H:.6f} {b.w / W:.6f} "
                 f"{b.h / H:.6f}" for c, b in it.objects]
        (out / f"{it.path.stem}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))



def read_yolo_split(root: str | os.PathLike[str], split: str = "train") -> list[Labeled]:
    """The images of a YOLOv5-layout split (``images/<split>``, ``labels/<split>``) with their
    boxes in pixels."""
    from PIL import Image

    root = Path(root)
    out = []
    for img in sorted((root / "images" / split).glob("*")):
        label_file = root / "labels" / split / f"{img.stem}.txt"
        with Image.open(img) as im:
            W, H = im.size
        objects = []
        if label_file.exists():
            for line in label_file.read_text().split("\n"):
                parts = line.split()
                if len(parts) != 5:
                    continue
                c, cx, cy, w, h = int(parts[0]), *(float(v) for v in parts[1:])
                objects.append((c, Box((cx - w / 2) * W, (cy - h / 2) * H, w * W, h * H)))
        out.append(Labeled(img, tuple(objects)))
    return out


def tile_split(root: str | os.PathLike[str], split: str, tile: int, *, overlap: float = 0.2,
               min_visible: float = 0.5) -> int:
    """Replace the images of a YOLOv5-layout split larger than ``tile`` px by overlapping tiles
    (each keeping the objects at least ``min_visible`` inside it, clipped), so small objects
    keep their pixels at the training size. Returns how many images were tiled."""
    from PIL import Image

    from nblabel.core.labels import ImageSize
    from nblabel.sources.sliced import in_tile, tile_grid

    root = Path(root)
    tiled = 0
    for item in read_yolo_split(root, split):
        with Image.open(item.path) as im:
            if max(im.size) <= tile:
                continue
            rgb = im.convert("RGB")
        pieces = []
        for k, (x, y, w, h) in enumerate(tile_grid(ImageSize(*rgb.size), tile, overlap)):
            objects = in_tile(item.objects, (x, y, w, h), min_visible)
            path = item.path.with_name(f"{item.path.stem}-tile{k:03d}.png")
            rgb.crop((x, y, x + w, y + h)).save(path)
            pieces.append(Labeled(path, tuple(objects)))
        write_yolo_labels(pieces, root / "labels" / split)
        item.path.unlink()
        (root / "labels" / split / f"{item.path.stem}.txt").unlink(missing_ok=True)
        tiled += 1
    return tiled


def prepare_small_data(root: str | os.PathLike[str], *, synthetic_per_image: int = 8,
                       seed: int = 0, max_size: int = 640) -> dict[str, int]:
    """Make a YOLOv5-layout data set ready for small-data training: images larger than
    ``max_size`` cut into tiles (both splits), copy-paste images added to its training split,
    and the training arguments (``epochs``, ``patience``, ``imgsz``) sized to it (see the
    module doc)."""
    root = Path(root)
    for split in ("train", "val"):
        tile_split(root, split, max_size)
    train = read_yolo_split(root, "train")
    if not train:
        raise ValueError(f"no training images in {root / 'images' / 'train'}")
    extra = copy_paste(train, root / "images" / "train", synthetic_per_image * len(train),
                       seed=seed)
    write_yolo_labels(extra, root / "labels" / "train")
    from PIL import Image

    sides = []
    for it in train:
        with Image.open(it.path) as im:
            sides.append(max(im.size))
    sizes = [min(b.w, b.h) for it in train for _, b in it.objects]
    return {**schedule(len(train) + len(extra)),
            "imgsz": train_size(sides, sizes, max_size=max_size)}
