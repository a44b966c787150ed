"""Generated image data with known ground truth: coloured shapes on noisy backgrounds.

Used by the demo, the tests and the benchmarks, so nothing is ever downloaded. Deterministic for
a seed. Classes are ``circle``, ``square`` and ``triangle``; boxes are in pixels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from nblabel.core.geometry import intersection_over_smaller
from nblabel.core.labels import Box, ImageSize

__all__ = [
    "CLASSES", "SyntheticImage", "draw_shape", "make_dense", "make_shapes", "near_copy",
    "shape_mask", "shape_polygon",
    "write_classification_dataset", "write_yolo_dataset",
]

CLASSES = ("circle", "square", "triangle")


@dataclass(frozen=True, slots=True)
class SyntheticImage:
    """A generated image file and the objects drawn on it."""

    path: Path
    width: int
    height: int
    objects: tuple[tuple[str, Box], ...]

    @property
    def size(self) -> ImageSize:
        return ImageSize(self.width, self.height)


def shape_polygon(shape: str, box: Box, points: int = 32) -> list[tuple[float, float]]:
    """The outline of a drawn shape in pixels (a circle as ``points`` vertices)."""
    x1, y1, x2, y2 = box.x, box.y, box.x2, box.y2
    if shape == "circle":
        cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, box.w / 2, box.h / 2
        t = np.linspace(0, 2 * np.pi, points, endpoint=False)
        return [(float(cx + rx * np.cos(a)), float(cy + ry * np.sin(a))) for a in t]
    if shape == "square":
        return [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
    return [((x1 + x2) / 2, y1), (x2, y2), (x1, y2)]


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, box: Box,
               colour: tuple[int, int, int]) -> None:
    """Fill ``shape`` (one of :data:`CLASSES`) over ``box`` on ``draw``."""
    if shape == "circle":
        draw.ellipse([box.x, box.y, box.x2, box.y2], fill=colour)
    elif shape == "square":
        draw.rectangle([box.x, box.y, box.x2, box.y2], fill=colour)
    else:
        draw.polygon(shape_polygon(shape, box), fill=colour)


def make_shapes(
    out_dir: str | os.PathLike[str],
    n: int,
    *,
    seed: int = 0,
    size: tuple[int, int] = (320, 240),
    max_objects: int = 6,
    min_side: int = 24,
    max_side: int = 96,
    prefix: str = "img",
) -> list[SyntheticImage]:
    """Write ``n`` JPEG images of shapes to ``out_dir`` and return them with their boxes.

    Objects overlap little (a new object may cover at most 30 % of an earlier one's box), so
    every drawn object stays visible and its box is right.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = size
    images: list[SyntheticImage] = []
    for i in range(n):
        base = rng.integers(40, 215, size=3)
        noise = rng.normal(0, 12, size=(height, width, 3))
        grad = np.linspace(-20, 20, width)[None, :, None]
        arr = np.clip(base[None, None, :] + noise + grad, 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, "RGB")
        draw = ImageDraw.Draw(img)
        objects: list[tuple[str, Box]] = []
        for _ in range(int(rng.integers(0, max_objects + 1))):
            for _attempt in range(20):
                side = float(rng.uniform(min_side, max_side))
                aspect = float(rng.uniform(0.75, 1.33))
                w, h = min(side * aspect, width - 2), min(side / aspect, height - 2)
                x = float(rng.uniform(0, width - w))
                y = float(rng.uniform(0, height - h))
                box = Box(round(x), round(y), round(w), round(h))
                if all(intersection_over_smaller(box.as_list(), b.as_list()) < 0.3
                       for _, b in objects):
                    break
            else:
                continue
            shape = CLASSES[int(rng.integers(0, len(CLASSES)))]
            shift = rng.choice([-1, 1], 3) * rng.integers(70, 120, 3)
            colour = tuple(int(c) for c in (base + shift) % 256)
            draw_shape(draw, shape, box, colour)  # type: ignore[arg-type]
            objects.append((shape, box))
        img = img.filter(ImageFilter.GaussianBlur(0.6))
        path = out / f"{prefix}_{i:05d}.jpg"
        img.save(path, quality=90)
        images.append(SyntheticImage(path, width, height, tuple(objects)))
    return images


def shape_mask(image: SyntheticImage, i: int) -> np.ndarray:
    """The true mask (bool, the whole image) of object ``i``: its shape minus the shapes drawn
    after it (on top of it)."""

    def filled(k: int) -> np.ndarray:
        canvas = Image.new("L", (image.width, image.height), 0)
        shape, box = image.objects[k]
        draw_shape(ImageDraw.Draw(canvas), shape, box, 255)  # type: ignore[arg-type]
        return np.asarray(canvas) > 127

    mask = filled(i)
    for k in range(i + 1, len(image.objects)):
        mask &= ~filled(k)
    return mask


def write_yolo_dataset(
    root: str | os.PathLike[str],
    train: list[SyntheticImage],
    val: list[SyntheticImage],
    classes: tuple[str, ...] = CLASSES,
    task: str = "detect",
) -> Path:
    """Write YOLO label files next to the images and a ``data.yaml``; return its path.

    ``task="segment"`` writes each object's outline as a polygon instead of its box.
    """
    if task not in ("detect", "segment"):
        raise ValueError(f"task must be 'detect' or 'segment', not {task!r}")
    root = Path(root)
    for split, items in (("train", train), ("val", val)):
        img_dir = root / split / "images"
        lbl_dir = root / split / "labels"
        img_dir.mkdir(parents=True, exist_ok=True)
        lbl_dir.mkdir(parents=True, exist_ok=True)
        for item in items:
            target = img_dir / item.path.name
            if item.path.resolve() != target.resolve():
                target.write_bytes(item.path.read_bytes())
            if task == "segment":
                lines = [
                    f"{classes.index(label)} " + " ".join(
                        f"{x / item.width:.6f} {y / item.height:.6f}"
                        for x, y in shape_polygon(label, b))
                    for label, b in item.objects
                ]
            else:
                lines = [
                    f"{classes.index(label)} {(b.x + b.w / 2) / item.width:.6f} "
                    f"{(b.y + b.h / 2) / item.height:.6f} {b.w / item.width:.6f} "
                    f"{b.h / item.height:.6f}"
                    for label, b in item.objects
                ]
            (lbl_dir / f"{item.path.stem}.txt").write_text("\n".join(lines))
    data = root / "data.yaml"
    names = "\n".join(f"  {i}: {c}" for i, c in enumerate(classes))
    data.write_text(
        f"path: {root.resolve()}\ntrain: train/images\nval: val/images\nnames:\n{names}\n"
    )
    return data


def write_classification_dataset(
    root: str | os.PathLike[str],
    train: list[SyntheticImage],
    val: list[SyntheticImage],
) -> Path:
    """Write an image-classification folder tree (``split/class/image``); return ``root``.

    An image's class is that of its largest object; images with no object are left out.
    """
    root = Path(root)
    for split, items in (("train", train), ("val", val)):
        for item in items:
            if not item.objects:
                continue
            label = max(item.objects, key=lambda o: o[1].area)[0]
            target = root / split / label / item.path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.path.read_bytes())
    return root


def make_dense(
    out: str | os.PathLike[str], n_images: int, size: tuple[int, int], n_boxes: int,
    seed: int = 0,
) -> list[tuple[Path, list[Box]]]:
    """Dense scenes (cells, crowds, shelves): ``n_boxes`` blobs on a jittered grid per image, and
    a box (image pixels) on each. For dense-scene tests and benchmarks of the review widget."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    w, h = size
    cols = int(np.ceil((n_boxes * w / h) ** 0.5))
    rows = int(np.ceil(n_boxes / cols))
    px, py = w / cols, h / rows
    items = []
    for i in range(n_images):
        noise = np.asarray(Image.effect_noise((w, h), 30), dtype=np.float32) / 255
        rgb = np.stack([30 + 170 * noise, 20 + 150 * noise, 60 + 150 * noise], axis=-1)
        img = Image.fromarray(rgb.astype(np.uint8))
        draw = ImageDraw.Draw(img)
        boxes = []
        for k in range(n_boxes):
            cx = (k % cols + 0.5 + rng.uniform(-0.2, 0.2)) * px
            cy = (k // cols + 0.5 + rng.uniform(-0.2, 0.2)) * py
            bw, bh = px * rng.uniform(0.45, 0.75), py * rng.uniform(0.45, 0.75)
            x = min(max(cx - bw / 2, 0.0), w - bw)
            y = min(max(cy - bh / 2, 0.0), h - bh)
            draw.ellipse([x, y, x + bw, y + bh], fill=(120, 40, 90))
            boxes.append(Box(round(x, 1), round(y, 1), round(bw, 1), round(bh, 1)))
        path = out / f"dense_{i:03d}.jpg"
        img.save(path, quality=85)
        items.append((path, boxes))
    return items


def near_copy(image: SyntheticImage, out_path: str | os.PathLike[str], seed: int = 0,
              shift: int = 2, noise: float = 4.0) -> SyntheticImage:
    """A near-duplicate of ``image`` (as from a burst of photos or consecutive video frames):
    shifted ``shift`` px right and down, with Gaussian noise of sd ``noise``, re-encoded as
    JPEG; its boxes shift with it (clipped to the image)."""
    rng = np.random.default_rng(seed)
    a = np.asarray(Image.open(image.path).convert("RGB")).astype(np.float64)
    a = np.roll(a, (shift, shift), axis=(0, 1)) + rng.normal(0, noise, a.shape)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(out, quality=88)
    objects = tuple(
        (label, Box(b.x + shift, b.y + shift, min(b.w, image.width - b.x - shift),
                    min(b.h, image.height - b.y - shift))) for label, b in image.objects)
    return SyntheticImage(out, image.width, image.height, objects)
