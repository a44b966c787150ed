"""Export of the reviewed labels through FiftyOne's exporters: COCO, YOLO, Pascal VOC.

By default only samples tagged ``reviewed`` are exported (an unreviewed image with no truth would
teach a model that it holds no objects), with the labels of ``label_field`` (``ground_truth``;
``merge_consensus`` output or any other field works the same). The class list is the sorted set of
labels in the exported samples unless ``classes`` is given, so every split shares one list.

YOLO exports get a ``dataset.yaml`` with absolute paths and a deterministic train/val split
(``val_fraction`` of the samples, at least one; with a single sample it is used for both), ready
for ``ultralytics.YOLO(...).train(data=...)``.

Instance masks: COCO exports carry each mask exactly, as uncompressed RLE, with its area in
pixels (FiftyOne's exporter writes simplified polygons and the box's area; both are replaced);
``"yolo-seg"`` writes YOLO segmentation labels (the outline of each mask's largest part; a box
without a mask becomes its rectangle), ready for an ultralytics ``-seg`` model.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from nblabel.core.labels import Box, ImageSize
from nblabel.core.masks import full_mask, largest_polygon, rle
from nblabel.store import shim
from nblabel.store.schema import REVIEWED_TAG

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["FORMATS", "export_reviewed", "export_target", "write_yolo_yaml"]

Format = Literal["coco", "yolo", "yolo-seg", "voc", "cvat"]
FORMATS: tuple[str, ...] = ("coco", "yolo", "yolo-seg", "voc", "cvat")


def export_reviewed(
    view: fo.core.collections.SampleCollection,
    export_dir: str | os.PathLike[str],
    format: Format = "coco",
    *,
    field: str = "ground_truth",
    only_reviewed: bool = True,
    classes: list[str] | None = None,
    val_fraction: float = 0.2,
    media: Literal["copy", "symlink"] = "copy",
    overwrite: bool = False,
    seed: int = 0,
) -> Path:
    """Export ``view``'s reviewed labels to ``export_dir``; returns the file to load: the COCO
    ``labels.json``, the YOLO ``dataset.yaml``, the VOC folder or the CVAT ``labels.xml``.
    Label attributes (:mod:`nblabel.core.attributes`) go out with COCO (as keys of each
    annotation) and CVAT (``<attribute>`` elements; ``occluded`` as CVAT's own flag)."""
    import fiftyone as fo

    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}: use one of {', '.join(FORMATS)}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    target, out = export_target(view, export_dir, field, only_reviewed, overwrite)
    if classes is None:
        classes = sorted(x for x in target.distinct(f"{field}.detections.label") if x)
    export_media: bool | str = True if media == "copy" else "symlink"

    if format == "coco":
        target.export(export_dir=str(out), dataset_type=fo.types.COCODetectionDataset,
                      label_field=field, classes=classes, export_media=export_media)
        _exact_coco_masks(out / "labels.json", target, field)
        return out / "labels.json"
    if format == "cvat":
        target.export(export_dir=str(out), dataset_type=fo.types.CVATImageDataset,
                      label_field=field, export_media=export_media)
        return out / "labels.xml"
    if format == "voc":
        target.export(export_dir=str(out), dataset_type=fo.types.VOCDetectionDataset,
                      label_field=field, classes=classes, export_media=export_media)
        return out

    train, val = split_ids(target.values("id"), val_fraction, seed)
    for split, chosen in (("train", train), ("val", val or train)):
        target.select(chosen).export(
            export_dir=str(out), dataset_type=fo.types.YOLOv5Dataset, label_field=field,
            split=split, classes=classes, export_media=export_media)
        if format == "yolo-seg":
            _yolo_seg_labels(out / "labels" / split, target.select(chosen), field,
                             classes)
    return write_yolo_yaml(out, classes)


def export_target(view: fo.core.collections.SampleCollection,
                  export_dir: str | os.PathLike[str], label_field: str, only_reviewed: bool,
                  overwrite: bool) -> tuple[Any, Path]:
    """The samples an export writes (reviewed ones unless ``only_reviewed`` is false) and its
    empty folder; a missing field, nothing to export or a folder in use is refused by name."""
    ds = shim.root_dataset(view)
    if not ds.has_sample_field(label_field):
        raise ValueError(f"dataset {ds.name!r} has no label field {label_field!r} to export")
    target = view.match_tags(REVIEWED_TAG) if only_reviewed else view
    if len(target) == 0:
        raise ValueError("nothing to export: no reviewed samples in the view"
                         + (" (pass only_reviewed=False to export all)" if only_reviewed else ""))
    out = Path(export_dir).resolve()
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty: pass overwrite=True to replace it")
        shutil.rmtree(out)
    return target, out


def split_ids(ids: list[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """The training and validation sample ids of an export: a seeded shuffle, the first
    ``val_fraction`` (at least one) held out; one image is both."""
    shuffled = ids[:]
    random.Random(seed).shuffle(shuffled)
    n_val = max(1, round(len(ids) * val_fraction)) if val_fraction > 0 else 0
    val = shuffled[:n_val] if len(ids) > 1 else ids
    held = set(val)
    return [s for s in ids if s not in held] or ids, val


def _masks_of(view: fo.core.collections.SampleCollection, label_field: str
              ) -> list[tuple[str, ImageSize, list[tuple[str, Box, np.ndarray | None]]]]:
    """Per sample: file name, size, and each detection's label, pixel box and whole-image mask
    (``None`` without a mask)."""
    view.compute_metadata()
    out = []
    for path, dets, w, h in zip(*view.values(["filepath", label_field, "metadata.width",
                                              "metadata.height"]), strict=True):
        size = ImageSize(int(w), int(h))
        items = []
        for d in (dets.detections if dets is not None else []):
            box = Box.from_relative(d.bounding_box, size)
            mask = full_mask(d.mask, box, size) if d.mask is not None else None
            items.append((d.label, box, mask))
        out.append((Path(path).name, size, items))
    return out


def _exact_coco_masks(labels_json: Path, view: fo.core.collections.SampleCollection,
                      label_field: str) -> None:
    """Replace the exporter's polygons and box areas by exact RLE masks and their areas."""
    import json

    data = json.loads(labels_json.read_text())
    by_file = {im["file_name"]: im["id"] for im in data.get("images", [])}
    anns: dict[int, list[dict[str, Any]]] = {}
    for a in data.get("annotations", []):
        anns.setdefault(a["image_id"], []).append(a)
    changed = False
    for name, _size, items in _masks_of(view, label_field):
        candidates = anns.get(by_file.get(name, -1), [])
        for _label, box, mask in items:
            if mask is None:
                continue
            match = min(candidates, default=None, key=lambda a: sum(
                abs(u - v) for u, v in zip(a["bbox"], box.as_list(), strict=True)))
            if match is None:
                continue
            match["segmentation"] = rle(mask)
            match["area"] = float(mask.sum())
            changed = True
    if changed:
        labels_json.write_text(json.dumps(data))


def _yolo_seg_labels(labels_dir: Path, view: fo.core.collections.SampleCollection,
                     label_field: str, classes: list[str]) -> None:
    """Rewrite a YOLO split's label files as segmentation polygons (see the module doc)."""
    for name, size, items in _masks_of(view, label_field):
        lines = []
        for label, box, mask in items:
            if label not in classes:
                continue
            poly = largest_polygon(mask) if mask is not None else []
            if len(poly) < 3:
                poly = [(box.x, box.y), (box.x2, box.y), (box.x2, box.y2), (box.x, box.y2)]
            coords = " ".join(f"{x / size.width:.6f} {y / size.height:.6f}" for x, y in poly)
            lines.append(f"{classes.index(label)} {coords}")
        (labels_dir / f"{Path(name).stem}.txt").write_text("\n".join(lines) + "\n")


def write_yolo_yaml(root: Path, classes: list[str]) -> Path:
    """``root/dataset.yaml`` with absolute paths: FiftyOne writes relative ones, which
    ultralytics resolves against its own folders."""
    names = "\n".join(f"  {i}: {name!r}" for i, name in enumerate(classes))
    path = root / "dataset.yaml"
    path.write_text(f"path: {root}\ntrain: {root / 'images' / 'train'}\n"
                    f"val: {root / 'images' / 'val'}\nnames:\n{names}\n")
    return path
