"""Masks for the boxes of a whole view, in one run: each box prompts the segmenter.

Resumable (boxes that already have a mask are skipped unless ``overwrite``), with a progress bar
and per-image errors (an unreadable image, a segmenter failing or returning an empty mask)
reported without stopping the run. Masks are written label by label (id-keyed, so reviewers
syncing into the same field at the same time lose nothing), cropped to each box as FiftyOne
stores instance masks; then review them in the widget like any other labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nblabel.core.images import ImageLoadError, load_rgb
from nblabel.core.labels import Box, ImageSize
from nblabel.segmentation.base import Prompt, SegmentationError, Segmenter

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["BulkMasksReport", "masks_from_boxes"]


@dataclass
class BulkMasksReport:
    """What a bulk run did: masks written, boxes skipped (had one), and errors per sample."""

    images: int = 0
    masks: int = 0
    skipped: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return (f"{self.masks} masks on {self.images} images, {self.skipped} boxes already had "
                f"one, {len(self.errors)} image error(s)")


def masks_from_boxes(view: fo.core.collections.SampleCollection, segmenter: Segmenter,
                     label_field: str = "ground_truth", *, overwrite: bool = False,
                     progress: bool = True) -> BulkMasksReport:
    """Give every box of ``label_field`` in ``view`` a mask from ``segmenter`` (see the module
    doc); returns a :class:`BulkMasksReport`."""
    import numpy as np
    from tqdm.auto import tqdm

    from nblabel.store import shim

    dataset = shim.root_dataset(view)
    if not dataset.has_sample_field(label_field):
        raise ValueError(f"dataset {dataset.name!r} has no label field {label_field!r}")
    report = BulkMasksReport()
    ids, paths, dets = view.values(["id", "filepath", label_field])
    for sid, path, labels in tqdm(list(zip(ids, paths, dets, strict=True)), disable=not progress,
                                  desc=f"masks from {segmenter.name}"):
        todo = [d for d in (labels.detections if labels is not None else [])
                if overwrite or d.mask is None]
        report.skipped += len(labels.detections if labels is not None else []) - len(todo)
        if not todo:
            continue
        try:
            image = load_rgb(path)
            size = ImageSize(image.width, image.height)
            segmenter.prepare(image, key=sid)
            values: dict[str, Any] = {}
            for d in todo:
                box = Box.from_relative(d.bounding_box, size).clipped(size)
                mask = segmenter.segment(image, Prompt(box=box), key=sid)
                x1, y1 = int(box.x), int(box.y)
                x2, y2 = max(x1 + 1, int(np.ceil(box.x2))), max(y1 + 1, int(np.ceil(box.y2)))
                crop = np.asarray(mask)[y1:y2, x1:x2]
                if not crop.any():
                    raise SegmentationError(f"{segmenter.name} returned an empty mask for box "
                                            f"{d.id} ({d.label})")
                values[d.id] = crop
        except (ImageLoadError, SegmentationError, ValueError, RuntimeError) as exc:
            report.errors[sid] = f"sample {sid}: {exc}"
            continue
        dataset.select([sid]).set_label_values(f"{label_field}.detections.mask", values)
        report.images += 1
        report.masks += len(values)
    return report
