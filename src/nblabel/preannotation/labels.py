"""Image-level labels proposed for every image of a view: any function from an image (RGB
array) to labels with confidences (``[{"label", "confidence"}]`` or ``{label: confidence}``),
e.g. a multi-label classifier's sigmoid outputs, written as FiftyOne ``Classifications`` in
one bulk write per batch. Resumable like every ``preannotate_*``: images that already hold
proposals are skipped unless ``overwrite``; an image that cannot be read or proposed for is
named in ``nblabel_error`` and the run goes on."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nblabel.core.image_labels import ImageLabel
from nblabel.core.images import ImageLoadError, load_rgb
from nblabel.core.labels import InvalidLabelError
from nblabel.preannotation.progress import Progress, ProgressArg
from nblabel.store import schema
from nblabel.store.schema import ERROR_FIELD, LABELS_FIELD

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["LabelsReport", "preannotate_labels"]

Proposer = Callable[[np.ndarray], "Sequence[Mapping[str, Any]] | Mapping[str, float]"]


@dataclass
class LabelsReport:
    images: int = 0
    labels: int = 0
    skipped: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def _labels(out: Any, sid: str) -> list[tuple[str, float | None]]:
    items = out.items() if isinstance(out, Mapping) else \
        [(d.get("label"), d.get("confidence", d.get("score"))) for d in out]
    got = []
    for label, conf in items:
        lab = ImageLabel("x" * 24, str(label or ""), None if conf is None else float(conf))
        got.append((lab.label, lab.confidence))  # checked: a class, a confidence in [0, 1]
    return got


class _LabelBatch:
    """One batch: each image read and proposed for (pickles to Ray workers with ``propose``)."""

    def __init__(self, propose: Proposer) -> None:
        self.propose = propose

    def __call__(self, rows: list[tuple[str, str]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for sid, path in rows:
            try:
                out[sid] = _labels(self.propose(np.asarray(load_rgb(path))), sid)
            except (ImageLoadError, InvalidLabelError, TypeError, ValueError) as exc:
                out[sid] = f"{path}: {exc}"
        return out


def preannotate_labels(view: fo.core.collections.SampleCollection, propose: Proposer,
                       field: str = LABELS_FIELD, *, batch_size: int = 32,
                       overwrite: bool = False, progress: ProgressArg = True,
                       backend: str = "local", address: str | None = None,
                       num_workers: int = 1) -> LabelsReport:
    """Propose image-level labels with ``propose`` for every image of ``view`` into ``field``
    (see the module doc); ``backend="ray"`` runs ``propose`` (which must pickle) in Ray Data
    actors, as :func:`~nblabel.preannotation.run.preannotate` does."""
    import fiftyone as fo

    from nblabel.preannotation.run import run_batches
    from nblabel.store import shim

    dataset = shim.base_dataset(view)
    schema.declare(dataset, {field: "classifications", ERROR_FIELD: "str"})
    ids, paths, existing = view.values(["id", "filepath", field])
    todo = [(i, p) for i, p, e in zip(ids, paths, existing, strict=True)
            if overwrite or e is None]
    report = LabelsReport(skipped=len(ids) - len(todo))
    bar = Progress(progress, len(todo), "image labels")
    for outcomes in run_batches(todo, _LabelBatch(propose), batch_size, backend, address,
                                num_workers):
        values: dict[str, Any] = {}
        errors: dict[str, str | None] = {}
        for sid, got in outcomes.items():
            if isinstance(got, str):
                report.errors[sid] = errors[sid] = got
                continue
            values[sid] = fo.Classifications(classifications=[
                fo.Classification(label=label, confidence=conf) for label, conf in got])
            errors[sid] = None
            report.images += 1
            report.labels += len(got)
        if values:
            dataset.select(list(values)).set_values(field, values, key_field="id")
        if errors:
            dataset.select(list(errors)).set_values(ERROR_FIELD, errors, key_field="id")
        bar.advance(len(outcomes))
    bar.close()
    return report
