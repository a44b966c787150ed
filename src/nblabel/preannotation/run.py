"""Batch pre-annotation: run a proposal source over a FiftyOne view and store its proposals.

Detection and segmentation proposals are stored as ``fo.Detections`` (relative boxes,
``confidence``, ``source``, per-class ``scores`` when the model gives them, instance masks,
``agreement`` for ensembles), a classifier's as ``fo.Classification`` (label, confidence,
``scores``), in one field per run, written per batch with one bulk ``set_values`` keyed by sample
id (no per-sample ``save()``). An image that cannot be read is recorded in the sample field
``nblabel_error`` and the run goes on; so does a batch on which the model fails (its images get
the error). Boxes are clipped to their image; boxes wholly outside it are dropped and counted,
and so are proposals of classes the source's ``label_map`` leaves out.
:class:`PreannotationReport` summarises what happened.

Two backends run the model:

- ``"local"`` (default): in this process; reading the next batch's images and writing the last
  batch's proposals run in threads while the model works, so writes never stall inference.
- ``"ray"``: Ray Data reads the images and runs the source in ``num_workers`` actors (each with
  its own copy of the source, which must pickle: an ``UltralyticsSource`` built from a weights
  path reloads them); this process writes to FiftyOne as batches come back. Ray starts locally
  unless ``address`` names a cluster (``"auto"`` or ``"ray://host:10001"``); workers there must
  see the image paths. The proposals are the same as the local path's.

``tta=True`` and ``mc_dropout=N`` add per-proposal ``tta_instability`` and ``mc_variance`` (see
:mod:`nblabel.preannotation.probes`); they cost one extra pass per view and N passes.
"""

from __future__ import annotations

import logging
import pickle
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nblabel.core.images import ImageLoadError, decode_mask, load_rgb
from nblabel.core.labels import ImageSize, InvalidLabelError, Proposal
from nblabel.preannotation.probes import mc_dropout_variance, tta_instability
from nblabel.preannotation.progress import Progress, ProgressArg
from nblabel.sources import ProposalError, ProposalSource
from nblabel.store import schema, shim
from nblabel.store.schema import ERROR_FIELD, PROPOSAL_ATTRS, UNCERTAINTY_ATTRS

if TYPE_CHECKING:
    import fiftyone as fo
    from PIL import Image

__all__ = ["ERROR_FIELD", "PreannotationReport", "preannotate", "ray_items", "replace_proposals",
           "run_batches", "start_ray"]

log = logging.getLogger(__name__)

WRITE_EVERY = 64


@dataclass
class PreannotationReport:
    """Counts and per-image errors of one :func:`preannotate` run."""

    images: int = 0
    proposals: int = 0
    skipped: int = 0
    dropped: int = 0
    unmapped: Counter[str] = field(default_factory=Counter)
    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        unmapped = sum(self.unmapped.values())
        return (
            f"{self.images} images, {self.proposals} proposals, {self.skipped} skipped, "
            f"{self.dropped} invalid proposals dropped, {unmapped} of unmapped classes dropped"
            + (f" ({dict(self.unmapped.most_common(5))})" if unmapped else "")
            + f", {len(self.errors)} image errors"
        )


# One image's outcome: its size and proposals with their probe values, or an error message.
_Item = tuple[ImageSize, list[tuple[Proposal, dict[str, float]]]] | str


def preannotate(
    view: fo.core.collections.SampleCollection,
    source: ProposalSource,
    field: str = "predictions",
    *,
    batch_size: int = 16,
    overwrite: bool = False,
    progress: ProgressArg = True,
    tta: bool = False,
    mc_dropout: int = 0,
    backend: str = "local",
    address: str | None = None,
    num_workers: int = 1,
) -> PreannotationReport:
    """Propose labels for every sample of ``view`` with ``source`` and store them in ``field``.

    Samples that already have a value in ``field`` are left as they are (a rerun resumes),
    unless ``overwrite`` (as every ``preannotate_*`` and ``track_videos``). ``backend``,
    ``address`` and ``num_workers``: see the module docstring.
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', not {backend!r}")
    task = getattr(source, "task", "detect")
    dataset = shim.base_dataset(view)
    report = PreannotationReport()
    schema.declare(dataset, {field: "classification" if task == "classify" else "detections",
                             ERROR_FIELD: "str"})
    ids, paths, existing = view.values(["id", "filepath", field])
    todo = [(i, p) for i, p, e in zip(ids, paths, existing, strict=True)
            if overwrite or e is None]
    report.skipped = len(ids) - len(todo)
    bar = Progress(progress, len(todo), f"proposals from {source.name}")

    def write(items: dict[str, _Item]) -> tuple[int, int, int, set[str]]:
        """Store one chunk; return its counts (images, proposals, dropped) and the optional
        attributes it wrote. Building the documents costs CPU time too: it happens here, off
        the model's thread."""
        values: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        proposals = dropped = 0
        attributes: set[str] = set()
        for sid, item in items.items():
            if isinstance(item, str):
                errors[sid] = item
                continue
            label = values[sid] = proposals_to_label(task, *item)
            if sid in stale_errors:  # it failed before and worked now
                errors[sid] = None
            kept = len(label["detections"]) if task != "classify" else int(label is not None)
            proposals += kept
            dropped += len(item[1]) - kept
            for p, extra in item[1]:
                attributes.update(extra)
                if p.scores is not None:
                    attributes.add("scores")
                if p.agreement is not None:
                    attributes.add("agreement")
        batch_view = dataset.select(list(items))
        if values:
            batch_view.set_values(field, values, key_field="id", validate=False)
        if errors:
            batch_view.set_values(ERROR_FIELD, errors, key_field="id")
        return len(values), proposals, dropped, attributes

    attributes: set[str] = set()  # optional proposal attributes written

    def collect(done: Future[tuple[int, int, int, set[str]]]) -> None:
        images, proposals, dropped, written = done.result()  # a failed write raises here
        report.images += images
        report.proposals += proposals
        report.dropped += dropped
        attributes.update(written)

    options = {"tta": tta, "mc_dropout": mc_dropout}
    stale_errors = set(view.exists(ERROR_FIELD).values("id"))
    if backend == "ray":
        results = _run_ray(todo, source, batch_size, options, address, num_workers, report)
    else:
        results = _run_local(todo, source, batch_size, options, report)
    # Writes go in chunks of at least WRITE_EVERY images (fewer, larger bulk writes); a crash
    # loses at most one chunk, which a rerun redoes.
    with ThreadPoolExecutor(1, "nblabel-write") as writer:
        pending: list[Future[tuple[int, int, int, set[str]]]] = []
        chunk: dict[str, _Item] = {}
        for items in results:
            report.errors.update({k: v for k, v in items.items() if isinstance(v, str)})
            chunk.update(items)
            bar.advance(len(items))
            if len(chunk) >= max(WRITE_EVERY, batch_size):
                pending.append(writer.submit(write, chunk))
                chunk = {}
            while pending and pending[0].done():
                collect(pending.pop(0))
        if chunk:
            pending.append(writer.submit(write, chunk))
        for f in pending:
            collect(f)
    bar.close()
    _declare_attributes(dataset, field, task, attributes)
    return report


def _declare_attributes(dataset: fo.Dataset, field: str, task: str, names: set[str]) -> None:
    """Declare the optional proposal attributes this run wrote, so FiftyOne (the App's
    filters, ``get_field_schema``) knows them."""
    base = field if task == "classify" else f"{field}.detections"
    kinds = {**PROPOSAL_ATTRS, **UNCERTAINTY_ATTRS}
    schema.declare(dataset, {f"{base}.{name}": kinds.get(name, "float") for name in names})


def _run_local(
    todo: list[tuple[str, str]], source: ProposalSource, batch_size: int,
    options: dict[str, Any], report: PreannotationReport,
) -> Iterator[dict[str, _Item]]:
    """Batches of outcomes, reading the next batch's images while the model works."""
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    with ThreadPoolExecutor(1, "nblabel-read") as reader:
        next_read = reader.submit(_read, batches[0]) if batches else None
        for k in range(len(batches)):
            assert next_read is not None
            read = next_read.result()
            if k + 1 < len(batches):
                next_read = reader.submit(_read, batches[k + 1])
            out, dropped, unmapped = _infer_batch(source, batches[k], read, options)
            report.dropped += dropped
            report.unmapped += unmapped
            yield out


class _RayInfer:
    """A Ray Data actor: reads a batch's images and runs its copy of the source on them."""

    def __init__(self, source: ProposalSource, options: dict[str, Any]) -> None:
        self.source = source
        self.options = options

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        rows = list(zip(batch["id"].tolist(), batch["filepath"].tolist(), strict=True))
        out, *counts = _infer_batch(self.source, rows, _read(rows), self.options)
        results = [pickle.dumps(out[sid]) for sid, _ in rows]
        # The batch's counts ride on its first row.
        meta = [pickle.dumps(counts if i == 0 else (0, Counter())) for i in range(len(rows))]
        return {"id": batch["id"], "result": np.array(results, dtype=object),
                "counts": np.array(meta, dtype=object)}


class _RayWork:
    """A Ray Data actor for any kind's batch function: ``work(rows)`` maps ``(id, filepath)``
    rows to ``{id: outcome}``; outcomes are pickled back to this process."""

    def __init__(self, work: Any) -> None:
        self.work = work

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        rows = list(zip(batch["id"].tolist(), batch["filepath"].tolist(), strict=True))
        out = self.work(rows)
        return {"id": batch["id"], "result": np.array(
            [pickle.dumps(out.get(sid)) for sid, _ in rows], dtype=object)}


def run_batches(todo: Sequence[tuple[str, str]], work: Any, batch_size: int, backend: str,
                address: str | None = None, num_workers: int = 1) -> Iterator[dict[str, Any]]:
    """``work`` over ``todo`` in batches, here (``backend="local"``, in order) or in Ray Data
    actors (``"ray"``: ``work`` must pickle; batches come back in any order). Every
    ``preannotate_*`` runs its kind's batch function through this."""
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', not {backend!r}")
    if backend == "local":
        for start in range(0, len(todo), batch_size):
            yield work(list(todo[start:start + batch_size]))
        return
    if not todo:
        return
    ray_data = start_ray(address, num_workers)
    out = ray_items(todo, batch_size).map_batches(
        _RayWork, fn_constructor_kwargs={"work": work}, batch_size=batch_size,
        compute=ray_data.ActorPoolStrategy(size=num_workers), num_cpus=1,
        batch_format="numpy")
    for batch in out.iter_batches(batch_size=batch_size, batch_format="numpy",
                                  prefetch_batches=2):
        yield {str(sid): pickle.loads(r)
               for sid, r in zip(batch["id"].tolist(), batch["result"], strict=True)}


def start_ray(address: str | None, num_workers: int) -> Any:
    """``ray.data``, with Ray started (locally with ``num_workers`` CPUs unless ``address``
    names a cluster) and Ray Data's progress bars off."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ImportError("backend='ray' needs Ray: pip install 'nblabel[ray]'") from exc
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"address": address, "include_dashboard": False,
                                  "log_to_driver": False}
        if address is None:  # a local Ray: workers share this process's environment
            kwargs["num_cpus"] = max(num_workers, 1)
        ray.init(**kwargs)
    ray.data.DataContext.get_current().enable_progress_bars = False
    return ray.data


def ray_items(todo: Sequence[tuple[str, str]], batch_size: int) -> Any:
    """A Ray dataset of ``{"id", "filepath"}`` rows, one block per batch."""
    import ray.data

    items = [{"id": sid, "filepath": path} for sid, path in todo]
    return ray.data.from_items(items, override_num_blocks=max(1, -(-len(items) // batch_size)))


def _run_ray(
    todo: list[tuple[str, str]], source: ProposalSource, batch_size: int,
    options: dict[str, Any], address: str | None, num_workers: int,
    report: PreannotationReport,
) -> Iterator[dict[str, _Item]]:
    """Batches of outcomes from Ray Data actors, in any order."""
    if not todo:
        return
    ray_data = start_ray(address, num_workers)
    ds = ray_items(todo, batch_size)
    out = ds.map_batches(
        _RayInfer,
        fn_constructor_kwargs={"source": source, "options": options},  # pickled to each actor
        batch_size=batch_size,
        compute=ray_data.ActorPoolStrategy(size=num_workers),
        num_cpus=1,
        batch_format="numpy",
    )
    for batch in out.iter_batches(batch_size=batch_size, batch_format="numpy",
                                  prefetch_batches=2):
        for meta in batch["counts"]:
            dropped, unmapped = pickle.loads(meta)
            report.dropped += dropped
            report.unmapped += unmapped
        yield {str(sid): pickle.loads(r)
               for sid, r in zip(batch["id"].tolist(), batch["result"], strict=True)}


def _read(batch: list[tuple[str, str]]) -> tuple[list[Image.Image], list[str], dict[str, str]]:
    images: list[Image.Image] = []
    ok_ids: list[str] = []
    errors: dict[str, str] = {}
    for sid, path in batch:
        try:
            images.append(load_rgb(path))
            ok_ids.append(sid)
        except ImageLoadError as exc:
            errors[sid] = str(exc)
    return images, ok_ids, errors


def _infer_batch(
    source: ProposalSource, rows: list[tuple[str, str]],
    read: tuple[list[Image.Image], list[str], dict[str, str]], options: dict[str, Any],
) -> tuple[dict[str, _Item], int, Counter[str]]:
    """Outcomes of one batch of (sample id, path) rows, in row order, from its read images;
    with what the source dropped and left unmapped on it."""
    images, ok_ids, errors = read
    dropped, unmapped = source.dropped, Counter(getattr(source, "unmapped", {}))
    out: dict[str, _Item] = dict(errors)
    out.update(_infer(source, images, ok_ids, options))
    return ({sid: out[sid] for sid, _ in rows}, source.dropped - dropped,
            Counter(getattr(source, "unmapped", {})) - unmapped)


def _infer(
    source: ProposalSource, images: list[Image.Image], ok_ids: list[str],
    options: dict[str, Any],
) -> dict[str, _Item]:
    """Run the source (and the probes asked for) on one batch: an outcome per sample id."""
    if not images:
        return {}
    try:
        results = list(source.propose(images))
        if len(results) != len(images):
            raise ValueError(f"returned {len(results)} results for {len(images)} images")
    except Exception as exc:  # a failing model is an error for these images, not the run
        log.warning("%s failed on a batch: %s", source.name, exc)
        return {sid: f"{source.name} failed: {exc!r}" for sid in ok_ids}
    proposals = [r if isinstance(r, list) else None for r in results]
    probes: dict[str, list[list[float] | None]] = {}
    try:
        if options.get("tta"):
            probes["tta_instability"] = tta_instability(source, images, proposals)
        if options.get("mc_dropout", 0) > 1:
            mc = mc_dropout_variance(source, images, proposals, passes=options["mc_dropout"])
            if mc is not None:
                probes["mc_variance"] = mc
    except Exception as exc:  # the proposals stand without their probe values
        log.warning("%s: uncertainty probes failed on a batch: %s", source.name, exc)
    out: dict[str, _Item] = {}
    for i, (sid, img, r) in enumerate(zip(ok_ids, images, results, strict=True)):
        if isinstance(r, ProposalError):  # this image failed, the others did not
            out[sid] = str(r)
            continue
        size = ImageSize(img.width, img.height)
        items = []
        for j, p in enumerate(r):
            extra = {}
            for name, values in probes.items():
                v = values[i]
                if v is not None:
                    extra[name] = v[j]
            items.append((p, extra))
        out[sid] = (size, items)
    return out


def proposals_to_label(task: str, size: ImageSize,
                       items: list[tuple[Proposal, dict[str, float]]]) -> Any:
    """The FiftyOne label for one image's proposals (invalid boxes are left out).

    Detections are built as the documents FiftyOne stores (``set_values`` takes them as they
    are): building ``fo.Detection`` objects costs about 70 us each, under the GIL, which slows
    the model's thread. Masks go through ``fo.Detection`` for FiftyOne's array encoding.
    """
    import fiftyone as fo

    if task == "classify":
        if not items:
            return None
        p, extra = items[0]
        c = fo.Classification(label=p.label, confidence=p.confidence, source=p.source)
        if p.scores is not None:
            c["scores"] = dict(p.scores)
        if p.agreement is not None:
            c["agreement"] = p.agreement
        for k, v in extra.items():
            c[k] = v
        return c
    dets: list[dict[str, Any]] = []
    for p, extra in items:
        try:
            box = p.box.clipped(size)
        except InvalidLabelError:
            continue
        doc: dict[str, Any]
        if p.mask is not None:
            doc = dict(fo.Detection(label=p.label, bounding_box=box.to_relative(size),
                                    confidence=p.confidence, source=p.source,
                                    mask=decode_mask(p.mask)).to_mongo())
        else:
            doc = shim.raw_label("Detection", {
                "label": p.label, "bounding_box": box.to_relative(size),
                "confidence": p.confidence, "source": p.source})
        if p.scores is not None:
            doc["scores"] = dict(p.scores)
        if p.agreement is not None:
            doc["agreement"] = p.agreement
        doc.update(extra)
        dets.append(doc)
    return shim.raw_detections(dets)


def replace_proposals(dataset: fo.Dataset, sample_id: str, field: str, size: ImageSize,
                      proposals: Sequence[Proposal], *, source: str,
                      decided: Collection[str] = ()) -> int:
    """Replace ``source``'s proposals on one sample by ``proposals``; those of other sources,
    and those with a decision (ids in ``decided``, or a synced review), stay. Returns how many
    were written. Used by the widget's live assistants (exemplar proposals while drawing)."""
    schema.declare(dataset, {field: "detections"})
    (stored,) = shim.raw_values(dataset.select([sample_id]), [field])
    old = (stored[0] or {}).get("detections", []) if stored and stored[0] else []
    kept = [d for d in old if d.get("source") != source or d.get("review") is not None
            or str(d.get("_id")) in decided]
    new = proposals_to_label("detect", size, [(p, {}) for p in proposals])
    dataset.select([sample_id]).set_values(
        field, {sample_id: shim.raw_detections(kept + new["detections"])},
        key_field="id", validate=False)
    return len(new["detections"])
