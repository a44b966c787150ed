"""Proposals on the slices of a volume, from any proposal source (boxes and masks).

Each slice is read from its volume (one at a time, :mod:`nblabel.core.volume`), shown to the
source as an 8-bit RGB image through ``window`` (default: the volume's own, as the reviewer
first sees it), and the proposals are written to the slice's sample, one bulk write per batch.
A slice that cannot be read or that the source fails on gets its reason in ``nblabel_error``
and the run goes on. Slices that already have proposals are skipped unless ``overwrite``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nblabel.core.labels import ImageSize
from nblabel.core.volume import VolumeError, to_display
from nblabel.preannotation.progress import Progress, ProgressArg
from nblabel.preannotation.run import PreannotationReport, proposals_to_label
from nblabel.sources.base import ProposalError
from nblabel.store import schema, shim
from nblabel.store.schema import ERROR_FIELD, PROPOSAL_ATTRS
from nblabel.store.volumes import open_series

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["preannotate_volume", "slice_rgb"]


def slice_rgb(pixels: np.ndarray, window: tuple[float, float]) -> Any:
    """A slice as the PIL RGB image a model sees (grey through ``window``)."""
    from PIL import Image

    grey = to_display(pixels, *window)
    return Image.fromarray(np.repeat(grey[..., None], 3, axis=2))


class _SliceBatch:
    """One batch of slices (rows: sample id, slice index): read, windowed and proposed for
    (pickles to Ray workers with the volume, which reads its files by path, and the source).
    Each outcome is the slice's proposals, or why it could not be read or proposed for."""

    def __init__(self, volume: Any, window: tuple[float, float], source: Any) -> None:
        self.volume, self.window, self.source = volume, window, source

    def __call__(self, rows: list[tuple[str, str]]) -> dict[str, Any]:
        images, ok = [], []
        out: dict[str, Any] = {}
        for sid, k in rows:
            try:
                images.append(slice_rgb(self.volume.pixels(int(k)), self.window))
                ok.append(sid)
            except VolumeError as exc:
                out[sid] = str(exc)
        results = self.source.propose(images) if images else []
        for sid, result in zip(ok, results, strict=True):
            out[sid] = f"slice sample {sid}: {result}" if isinstance(result, ProposalError) \
                else list(result)
        return out


def preannotate_volume(view: fo.core.collections.SampleCollection, source: Any,
                       series: str | None = None, *,
                       field: str = "predictions", window: tuple[float, float] | None = None,
                       batch_size: int = 8, overwrite: bool = False,
                       progress: ProgressArg = True, backend: str = "local",
                       address: str | None = None, num_workers: int = 1
                       ) -> PreannotationReport:
    """Propose with ``source`` (any :class:`~nblabel.sources.base.ProposalSource`) on every
    slice of ``series`` (default: the view's first) into ``field``; see the module doc.
    ``backend="ray"`` runs the source (which must pickle) in Ray Data actors, as
    :func:`~nblabel.preannotation.run.preannotate` does; workers read the series' files."""
    from nblabel.preannotation.run import run_batches

    dataset = shim.base_dataset(view)
    volume, ids = open_series(view, series)
    window = window or volume.default_window()
    size = ImageSize(volume.cols, volume.rows)
    schema.declare(dataset, {field: "detections", ERROR_FIELD: "str",
                             f"{field}.detections.source": PROPOSAL_ATTRS["source"]})
    done = dataset.select(ids, ordered=True).values(field)
    todo = [(sid, str(k)) for k, (sid, v) in enumerate(zip(ids, done, strict=True))
            if overwrite or v is None]
    report = PreannotationReport(skipped=len(ids) - len(todo))
    bar = Progress(progress, len(todo), f"slices of series {volume.series_uid}")
    for outcomes in run_batches(todo, _SliceBatch(volume, window, source), batch_size, backend,
                                address, num_workers):
        values: dict[str, Any] = {}
        for sid, outcome in outcomes.items():
            if isinstance(outcome, str):
                report.errors[sid] = outcome
                continue
            values[sid] = proposals_to_label("detect", size, [(p, {}) for p in outcome])
            report.proposals += len(values[sid]["detections"])
        if values:
            dataset.select(list(values)).set_values(field, values, key_field="id",
                                                    validate=False)
        failed = {sid: report.errors[sid] for sid in outcomes if sid in report.errors}
        if failed:
            dataset.select(list(failed)).set_values(ERROR_FIELD, failed, key_field="id")
        report.images += len(values)
        bar.advance(len(outcomes))
    bar.close()
    return report
