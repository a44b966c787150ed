"""Batch pre-annotation: run a proposal source over a FiftyOne view and store its proposals.

Proposals are stored as ``fo.Detections`` (relative boxes, ``confidence``, ``source``) in one
field per run, written per batch with one bulk ``set_values`` keyed by sample id (no per-sample
``save()``). An image that cannot be read is recorded in the sample field ``nblabel_error`` and
the run goes on; so does a batch on which the model fails (its images get the error). Reading
images and writing proposals overlap with inference (one reader and one writer thread). Boxes are
clipped to their image; boxes wholly outside it are dropped and counted.
:class:`PreannotationReport` summarises what happened.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nblabel.images import ImageLoadError, decode_mask, load_rgb
from nblabel.sources import ProposalError, ProposalSource
from nblabel.types import ImageSize, InvalidLabelError

if TYPE_CHECKING:
    import fiftyone as fo
    from PIL import Image

__all__ = ["ERROR_FIELD", "PreannotationReport", "preannotate"]

log = logging.getLogger(__name__)

ERROR_FIELD = "nblabel_error"


@dataclass
class PreannotationReport:
    """Counts and per-image errors of one :func:`preannotate` run."""

    images: int = 0
    proposals: int = 0
    skipped: int = 0
    dropped: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"{self.images} images, {self.proposals} proposals, {self.skipped} skipped, "
            f"{self.dropped} invalid boxes dropped, {len(self.errors)} image errors"
        )


def preannotate(
    view: fo.core.collections.SampleCollection,
    source: ProposalSource,
    field: str = "predictions",
    *,
    batch_size: int = 16,
    skip_existing: bool = False,
    progress: bool = True,
) -> PreannotationReport:
    """Propose labels for every sample of ``view`` with ``source`` and store them in ``field``.

    ``skip_existing=True`` leaves samples that already have a value in ``field`` (reruns resume).
    """
    import fiftyone as fo
    from tqdm.auto import tqdm

    dataset = view._dataset
    report = PreannotationReport()
    if not dataset.has_sample_field(field):
        dataset.add_sample_field(field, fo.EmbeddedDocumentField, embedded_doc_type=fo.Detections)
    if not dataset.has_sample_field(ERROR_FIELD):
        dataset.add_sample_field(ERROR_FIELD, fo.StringField)
    ids, paths, existing = view.values(["id", "filepath", field])
    todo = [(i, p) for i, p, e in zip(ids, paths, existing, strict=True)
            if not (skip_existing and e is not None)]
    report.skipped = len(ids) - len(todo)
    dropped_before = source.dropped
    bar = tqdm(total=len(todo), desc=f"proposals from {source.name}", disable=not progress)
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]

    def write(batch_ids: list[str], values: dict[str, Any], errors: dict[str, Any]) -> None:
        batch_view = dataset.select(batch_ids)
        if values:
            batch_view.set_values(field, values, key_field="id", validate=False)
        batch_view.set_values(ERROR_FIELD, errors, key_field="id")

    # Reading the next batch's images and writing the last batch's proposals run in threads
    # while the model works on the current batch: writes never stall inference.
    with ThreadPoolExecutor(1, "nblabel-read") as reader, \
            ThreadPoolExecutor(1, "nblabel-write") as writer:
        pending: list[Future[None]] = []
        next_read = reader.submit(_read, batches[0]) if batches else None
        for k, batch in enumerate(batches):
            assert next_read is not None
            images, ok_ids, errors = next_read.result()
            if k + 1 < len(batches):
                next_read = reader.submit(_read, batches[k + 1])
            values = _propose(source, images, ok_ids, errors, report)
            pending.append(writer.submit(write, [sid for sid, _ in batch], values, errors))
            report.images += len(values)
            report.errors.update({k: v for k, v in errors.items() if v is not None})
            bar.update(len(batch))
            while pending and pending[0].done():
                pending.pop(0).result()  # raise a failed write now
        for f in pending:
            f.result()
    bar.close()
    report.dropped += source.dropped - dropped_before
    return report


def _read(batch: list[tuple[str, str]]) -> tuple[list[Image.Image], list[str], dict[str, Any]]:
    images: list[Image.Image] = []
    ok_ids: list[str] = []
    errors: dict[str, Any] = {}
    for sid, path in batch:
        try:
            images.append(load_rgb(path))
            ok_ids.append(sid)
        except ImageLoadError as exc:
            errors[sid] = str(exc)
    return images, ok_ids, errors


def _propose(
    source: ProposalSource,
    images: list[Image.Image],
    ok_ids: list[str],
    errors: dict[str, Any],
    report: PreannotationReport,
) -> dict[str, Any]:
    """Run the source on one batch; fill ``errors`` and return the Detections per sample id."""
    import fiftyone as fo

    try:
        results = source.propose(images)
        if len(results) != len(images):
            raise ValueError(f"returned {len(results)} results for {len(images)} images")
    except Exception as exc:  # a failing model is an error for these images, not the run
        log.warning("%s failed on a batch: %s", source.name, exc)
        errors.update({sid: f"{source.name} failed: {exc!r}" for sid in ok_ids})
        return {}
    values: dict[str, Any] = {}
    for sid, img, proposals in zip(ok_ids, images, results, strict=True):
        if isinstance(proposals, ProposalError):  # this image failed, the others did not
            errors[sid] = str(proposals)
            continue
        size = ImageSize(img.width, img.height)
        dets = []
        for p in proposals:
            try:
                box = p.box.clipped(size)
            except InvalidLabelError:
                report.dropped += 1
                continue
            det = fo.Detection(label=p.label, bounding_box=box.to_relative(size),
                               confidence=p.confidence, source=p.source)
            if p.agreement is not None:
                det["agreement"] = p.agreement
            if p.mask is not None:
                det.mask = decode_mask(p.mask)
            dets.append(det)
        values[sid] = fo.Detections(detections=dets)
        report.proposals += len(dets)
        errors[sid] = None
    return values
