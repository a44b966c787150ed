"""Export of the reviewed labels through FiftyOne's exporters: COCO, YOLO, Pascal VOC.

By default only samples tagged ``reviewed`` are exported (an unreviewed image with no truth would
teach a model that it holds no objects), with the labels of ``label_field`` (``ground_truth``;
``merge_consensus`` output or any other field works the same). The class list is the sorted set of
labels in the exported samples unless ``classes`` is given, so every split shares one list.

YOLO exports get a ``dataset.yaml`` with absolute paths and a deterministic train/val split
(``val_fraction`` of the samples, at least one; with a single sample it is used for both), ready
for ``ultralytics.YOLO(...).train(data=...)``.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from nblabel.store import shim
from nblabel.store.schema import REVIEWED_TAG

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["FORMATS", "export_reviewed", "write_yolo_yaml"]

Format = Literal["coco", "yolo", "voc"]
FORMATS: tuple[str, ...] = ("coco", "yolo", "voc")


def export_reviewed(
    view: fo.core.collections.SampleCollection,
    export_dir: str | os.PathLike[str],
    format: Format = "coco",
    *,
    label_field: str = "ground_truth",
    only_reviewed: bool = True,
    classes: list[str] | None = None,
    val_fraction: float = 0.2,
    media: Literal["copy", "symlink"] = "copy",
    overwrite: bool = False,
    seed: int = 0,
) -> Path:
    """Export ``view``'s reviewed labels to ``export_dir``; returns the file to load: the COCO
    ``labels.json``, the YOLO ``dataset.yaml``, or the VOC folder."""
    import fiftyone as fo

    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}: use one of {', '.join(FORMATS)}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
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
    if classes is None:
        classes = sorted(x for x in target.distinct(f"{label_field}.detections.label") if x)
    export_media: bool | str = True if media == "copy" else "symlink"

    if format == "coco":
        target.export(export_dir=str(out), dataset_type=fo.types.COCODetectionDataset,
                      label_field=label_field, classes=classes, export_media=export_media)
        return out / "labels.json"
    if format == "voc":
        target.export(export_dir=str(out), dataset_type=fo.types.VOCDetectionDataset,
                      label_field=label_field, classes=classes, export_media=export_media)
        return out

    ids = target.values("id")
    rng = random.Random(seed)
    shuffled = ids[:]
    rng.shuffle(shuffled)
    n_val = max(1, round(len(ids) * val_fraction)) if val_fraction > 0 else 0
    val = shuffled[:n_val] if len(ids) > 1 else ids
    train = [s for s in ids if s not in set(val)] or ids
    for split, split_ids in (("train", train), ("val", val or train)):
        target.select(split_ids).export(
            export_dir=str(out), dataset_type=fo.types.YOLOv5Dataset, label_field=label_field,
            split=split, classes=classes, export_media=export_media)
    return write_yolo_yaml(out, classes)


def write_yolo_yaml(root: Path, classes: list[str]) -> Path:
    """``root/dataset.yaml`` with absolute paths: FiftyOne writes relative ones, which
    ultralytics resolves against its own folders."""
    names = "\n".join(f"  {i}: {name!r}" for i, name in enumerate(classes))
    path = root / "dataset.yaml"
    path.write_text(f"path: {root}\ntrain: {root / 'images' / 'train'}\n"
                    f"val: {root / 'images' / 'val'}\nnames:\n{names}\n")
    return path
