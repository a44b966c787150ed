"""Pre-annotation with shape sources: keypoint instances or polylines on every image.

:func:`preannotate_shapes` runs a :class:`~nblabel.sources.shapes.ShapeSource` over a dataset in
batches, checks each proposal against the image and the field's skeleton
(:func:`nblabel.core.shapes.checked`: a point outside the image is dropped, an instance that
does not match the skeleton is left out, each named in ``report.problems``), and writes each
batch with one bulk write. An image that cannot be read or that the source fails on gets its
reason in ``nblabel_error`` and the run goes on. Images that already have the field are skipped
unless ``overwrite``, so a run that stopped resumes where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nblabel.core.images import ImageLoadError, load_rgb
from nblabel.core.labels import ImageSize
from nblabel.core.shapes import Shape, checked
from nblabel.preannotation.progress import Progress, ProgressArg
from nblabel.sources.base import ProposalError
from nblabel.sources.shapes import ShapeSource
from nblabel.store import schema, shim
from nblabel.store.schema import ERROR_FIELD, GT_KEYPOINTS_FIELD, KEYPOINTS_FIELD, POLYLINES_FIELD
from nblabel.store.shapes import set_skeleton, skeleton_of, write_shapes

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["ShapeReport", "preannotate_shapes"]


@dataclass
class ShapeReport:
    """What one :func:`preannotate_shapes` run did."""

    images: int = 0
    shapes: int = 0
    skipped: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.images} images, {self.shapes} shapes, {self.skipped} skipped, "
                f"{len(self.problems)} problems, {len(self.errors)} image errors")


class _ShapeBatch:
    """One batch: the images read and proposed for (pickles to Ray workers with ``source``).
    Each outcome is the image's size and shapes, a :class:`ProposalError`, or why it could not
    be read."""

    def __init__(self, source: ShapeSource) -> None:
        self.source = source

    def __call__(self, rows: list[tuple[str, str]]) -> dict[str, Any]:
        images, ok = [], []
        out: dict[str, Any] = {}
        for sid, path in rows:
            try:
                im = load_rgb(path)
            except ImageLoadError as exc:
                out[sid] = str(exc)
                continue
            images.append(im)
            ok.append((sid, ImageSize(*im.size)))
        results = self.source.propose(images) if images else []
        for (sid, size), result in zip(ok, results, strict=True):
            out[sid] = str(result) if isinstance(result, ProposalError) else (size, result)
        return out


def preannotate_shapes(view: fo.core.collections.SampleCollection, source: ShapeSource,
                       field: str | None = None, *,
                       batch_size: int = 16, overwrite: bool = False,
                       progress: ProgressArg = True, backend: str = "local",
                       address: str | None = None, num_workers: int = 1) -> ShapeReport:
    """Propose shapes with ``source`` for every image of ``view`` into ``field`` (default
    ``keypoints`` or ``polylines`` by the source's kind); see the module doc.
    ``backend="ray"`` runs the source (which must pickle) in Ray Data actors, as
    :func:`~nblabel.preannotation.run.preannotate` does."""
    from nblabel.preannotation.run import run_batches

    dataset = shim.base_dataset(view)
    kind = source.kind
    field = field or (KEYPOINTS_FIELD if kind == "keypoints" else POLYLINES_FIELD)
    schema.declare_shapes(dataset, field, kind)
    schema.declare(dataset, {ERROR_FIELD: "str"})
    skeleton = skeleton_of(dataset, field) if kind == "keypoints" else None
    if kind == "keypoints" and skeleton is None and source.skeleton is not None:
        skeleton = source.skeleton
        set_skeleton(dataset, field, skeleton)
        if GT_KEYPOINTS_FIELD not in dataset.skeletons:
            set_skeleton(dataset, GT_KEYPOINTS_FIELD, skeleton)
    report = ShapeReport()
    ids, paths, values = view.values(["id", "filepath", field])
    todo = [(sid, p) for sid, p, v in zip(ids, paths, values, strict=True)
            if overwrite or v is None]
    report.skipped = len(ids) - len(todo)
    bar = Progress(progress, len(todo), f"shapes from {source.name}")
    for outcomes in run_batches(todo, _ShapeBatch(source), batch_size, backend, address,
                                num_workers):
        out: dict[str, list[Shape]] = {}
        sizes: dict[str, ImageSize] = {}
        for sid, outcome in outcomes.items():
            if isinstance(outcome, str):
                report.errors[sid] = outcome
                continue
            sizes[sid], result = outcome
            fit = [c for s in result
                   if (c := checked(s, sizes[sid], skeleton, report.problems,
                                    f"sample {sid}")) is not None]
            out[sid] = fit
            report.shapes += len(fit)
        write_shapes(dataset, out, field, kind, source=source.name, sizes=sizes)
        failed = [sid for sid in outcomes if sid in report.errors]
        if failed:
            dataset.select(failed).set_values(
                ERROR_FIELD, {sid: report.errors[sid] for sid in failed}, key_field="id")
        report.images += len(out)
        bar.advance(len(outcomes))
    bar.close()
    return report
