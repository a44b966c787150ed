"""Embeddings stored in FiftyOne and indexed with FiftyOne Brain: the embedding plot and
similar images in the App and the notebook, uniqueness, and near-duplicates set aside.

- :func:`embed`: an :class:`~nblabel.curation.embeddings.Embedder` over a view in batches, each
  batch written in one bulk call to ``nblabel_embedding`` (with ``nblabel_embedder``, the space it
  lives in). Resumable: images that already hold an embedding of this embedder are skipped, so a
  run stopped half-way goes on where it stopped. Locally, or on Ray Data (``backend="ray"``,
  ``address`` of a cluster): workers embed, this process writes as batches come back.
- :func:`stored`: the embeddings back as one matrix; a vector of another size (stored by another
  tool or embedder), not finite or missing is named per sample and left out.
- :func:`index`: FiftyOne Brain over the stored embeddings, passed precomputed (Brain otherwise
  downloads a model): ``compute_similarity`` (``view.sort_by_similarity(id, brain_key=
  SIMILARITY_KEY)``, the App's similarity search), ``compute_visualization`` (PCA: no download,
  no umap dependency), ``compute_uniqueness`` and ``compute_near_duplicates``.
- :func:`near_duplicates`: each image closer than ``threshold`` to a reviewed image, in chunks so
  memory stays bounded; the queue skips those.

Distances are taken on standardized embeddings (:func:`~nblabel.curation.embeddings.standardize`)
so that every feature weighs alike; Brain gets the same standardized vectors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nblabel.curation.embeddings import Embedder, Embeddings, standardize
from nblabel.store import schema, shim
from nblabel.store.schema import (
    DUPLICATE_OF_FIELD,
    EMBEDDER_FIELD,
    EMBEDDING_FIELD,
    SIMILARITY_KEY,
    UNIQUENESS_FIELD,
    VISUALIZATION_KEY,
)

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["BrainIndex", "EmbedReport", "Stored", "embed", "index", "near_duplicates", "similar",
           "stored"]

#: Near-duplicate threshold: distance between standardized embeddings over the square root of
#: their dimension (an RMS per feature). With the pixel embedder, generated images copied with a
#: 2-3 px shift, noise (sd 4) and JPEG re-encoding measured 0.10 from their original (at most
#: 0.17), distinct generated images at least 0.17 (5th percentile 0.54). The detector's pooled
#: features separate them less (copies up to 0.43, distinct from 0.07): near-duplicates are best
#: found with the pixel embedder.
DUPLICATE_DISTANCE = 0.15


@dataclass
class EmbedReport:
    """What :func:`embed` did: how many images it embedded, skipped as already done, and which
    failed (sample id: reason)."""

    embedded: int = 0
    already: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def embed(view: fo.core.collections.SampleCollection, embedder: Embedder, *,
          batch_size: int = 256, backend: str = "local", address: str | None = None,
          num_workers: int = 1, redo: bool = False,
          progress: Callable[[int, int], None] | None = None) -> EmbedReport:
    """Embed every image of ``view`` not yet embedded by ``embedder`` (all with ``redo``), in
    bulk (see the module doc). A model with no backend to embed with stops the run with that
    reason after its first batch fails whole; other failures are named in the report."""
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', not {backend!r}")
    started = time.monotonic()
    dataset = shim.base_dataset(view)
    schema.declare(dataset, {EMBEDDING_FIELD: "vector", EMBEDDER_FIELD: "str"})
    ids, paths, spaces = view.values(["id", "filepath", EMBEDDER_FIELD])
    todo = [(s, p) for s, p, e in zip(ids, paths, spaces, strict=True)
            if redo or e != embedder.name]
    report = EmbedReport(already=len(ids) - len(todo))
    batches = (_ray_batches(todo, embedder, batch_size, address, num_workers)
               if backend == "ray" else
               ((chunk, embedder([p for _, p in chunk])) for chunk in _batches(todo, batch_size)))
    for chunk, emb in batches:
        good = {sid: emb.vectors[i] for i, (sid, _) in enumerate(chunk) if i not in emb.failed}
        for i, reason in emb.failed.items():
            report.failed[chunk[i][0]] = f"{chunk[i][1]}: {reason}"
        reasons = set(emb.failed.values())
        if not good and not report.embedded and len(chunk) > 1 and len(reasons) == 1:
            # Every image of the first batch failed alike: the embedder, not the images.
            raise ValueError(f"cannot embed with {embedder.name}: {reasons.pop()}")
        if good:
            target = dataset.select(list(good))
            target.set_values(EMBEDDING_FIELD, good, key_field="id")
            target.set_values(EMBEDDER_FIELD, dict.fromkeys(good, embedder.name), key_field="id")
        report.embedded += len(good)
        if progress is not None:
            progress(report.embedded + len(report.failed), len(todo))
    report.seconds = time.monotonic() - started
    return report


class _RayEmbed:
    """A Ray Data actor running its copy of the embedder over a batch of paths."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        emb = self.embedder(list(batch["filepath"]))
        failed = np.array([emb.failed.get(i, "") for i in range(len(emb.vectors))], dtype=object)
        return {"id": batch["id"], "filepath": batch["filepath"],
                "vector": np.array(list(emb.vectors), dtype=object), "failed": failed}


def _ray_batches(todo: list[tuple[str, str]], embedder: Embedder, batch_size: int,
                 address: str | None, num_workers: int
                 ) -> Iterator[tuple[list[tuple[str, str]], Embeddings]]:
    from nblabel.preannotation.run import ray_items, start_ray

    if not todo:
        return
    ray_data = start_ray(address, num_workers)
    ds = ray_items(todo, batch_size)
    out = ds.map_batches(_RayEmbed, fn_constructor_args=(embedder,), batch_size=batch_size,
                         batch_format="numpy", num_cpus=1,
                         compute=ray_data.ActorPoolStrategy(size=num_workers))
    for batch in out.iter_batches(batch_size=batch_size, batch_format="numpy"):
        chunk = list(zip(batch["id"].tolist(), batch["filepath"].tolist(), strict=True))
        failed = {i: str(r) for i, r in enumerate(batch["failed"]) if r}
        dims = {len(v) for i, v in enumerate(batch["vector"]) if i not in failed}
        dim = dims.pop() if dims else 0
        vectors = np.stack([np.full(dim, np.nan, np.float32) if i in failed else
                            np.asarray(v, np.float32) for i, v in enumerate(batch["vector"])])
        yield chunk, Embeddings(vectors, failed)


@dataclass
class Stored:
    """Stored embeddings: sample ids and one row each, and the samples left out, with why."""

    ids: list[str]
    vectors: np.ndarray
    skipped: dict[str, str] = field(default_factory=dict)


def stored(view: fo.core.collections.SampleCollection, field_name: str = EMBEDDING_FIELD
           ) -> Stored:
    """The embeddings of ``view`` (see the module doc); the size kept is the most common one."""
    dataset = shim.base_dataset(view)
    if not dataset.has_sample_field(field_name):
        raise ValueError(f"dataset {dataset.name!r} has no embeddings field {field_name!r}: "
                         "run nblabel.curation.brain.embed(view, embedder) first")
    ids, values = view.values(["id", field_name])
    sizes: dict[int, int] = {}
    for v in values:
        if v is not None:
            sizes[np.size(v)] = sizes.get(np.size(v), 0) + 1
    dim = max(sizes, key=lambda d: (sizes[d], d)) if sizes else 0
    keep, rows, skipped = [], [], {}
    for sid, v in zip(ids, values, strict=True):
        a = None if v is None else np.asarray(v, dtype=np.float32).ravel()
        if a is None:
            skipped[sid] = f"sample {sid}: no {field_name}"
        elif a.size != dim:
            skipped[sid] = (f"sample {sid}: {field_name} has {a.size} numbers, the others "
                            f"{dim} (stored by another embedder or tool?)")
        elif not np.isfinite(a).all():
            skipped[sid] = f"sample {sid}: {field_name} is not finite"
        else:
            keep.append(sid)
            rows.append(a)
    matrix = np.stack(rows) if rows else np.zeros((0, dim), np.float32)
    return Stored(keep, matrix, skipped)


@dataclass
class BrainIndex:
    """FiftyOne Brain results over nblabel's embeddings (see :func:`index`)."""

    similarity: Any
    visualization: Any
    duplicates: dict[str, list[str]]
    skipped: dict[str, str]

    def plot(self, **kwargs: Any) -> Any:
        """The embedding plot (plotly) for the notebook; the App shows it under Embeddings."""
        return self.visualization.visualize(**kwargs)


def index(view: fo.core.collections.SampleCollection, *, threshold: float = DUPLICATE_DISTANCE,
          field_name: str = EMBEDDING_FIELD) -> BrainIndex:
    """Similarity, the 2-D plot, uniqueness (``nblabel_uniqueness``) and near-duplicates of
    ``view`` with FiftyOne Brain over the stored embeddings (samples without a usable one are
    left out and named in ``skipped``). ``duplicates``: each kept image and its near copies."""
    import fiftyone.brain as fob

    got = stored(view, field_name)
    if len(got.ids) < 2:
        raise ValueError(f"{len(got.ids)} samples with usable embeddings in {field_name!r}: "
                         "need at least 2")
    sub = shim.base_dataset(view).select(got.ids, ordered=True)
    x = standardize(got.vectors)
    schema.declare(shim.base_dataset(view), {UNIQUENESS_FIELD: "float"})
    sim = fob.compute_similarity(sub, embeddings=x, brain_key=SIMILARITY_KEY, backend="sklearn",
                                 metric="euclidean", progress=False)
    viz = fob.compute_visualization(sub, embeddings=x, brain_key=VISUALIZATION_KEY,
                                    method="pca", progress=False)
    fob.compute_uniqueness(sub, uniqueness_field=UNIQUENESS_FIELD, embeddings=x, progress=False)
    # Brain's threshold is a raw distance; ours is per feature (see DUPLICATE_DISTANCE).
    dup = fob.compute_near_duplicates(sub, threshold=threshold * np.sqrt(x.shape[1]),
                                      similarity_index=sim, progress=False)
    duplicates = {str(k): [str(i) for i, _ in v] for k, v in (dup.neighbors_map or {}).items()}
    return BrainIndex(sim, viz, duplicates, got.skipped)


def similar(view: fo.core.collections.SampleCollection, sample_id: str, k: int = 12
            ) -> fo.DatasetView:
    """The ``k`` images most like ``sample_id``, nearest first (after :func:`index`)."""
    return view.sort_by_similarity(sample_id, k=k, brain_key=SIMILARITY_KEY)


def near_duplicates(view: fo.core.collections.SampleCollection, reviewed: Sequence[str], *,
                    threshold: float = DUPLICATE_DISTANCE, field_name: str = EMBEDDING_FIELD,
                    embeddings: Stored | None = None, write: bool = True) -> dict[str, str]:
    """``{sample id: id of the reviewed image it nearly duplicates}`` for the images of ``view``
    within ``threshold`` of one of ``reviewed`` (written to ``nblabel_duplicate_of`` unless
    ``write`` is off). ``embeddings``: :func:`stored`'s result when the caller has read it
    already. Distances in blocks (:func:`nblabel.curation.selection.nearest`: 4096 x 4096 at a
    time, about 200 MB with temporaries), so it runs over a million images. Near-duplicates
    among unreviewed images are :func:`index`'s (FiftyOne Brain), and diversity selection
    does not pick two of them."""
    from nblabel.curation.selection import nearest

    got = embeddings if embeddings is not None else stored(view, field_name)
    if not got.ids:
        return {}
    x = standardize(got.vectors)
    done = set(reviewed)
    keep = np.array([i for i, s in enumerate(got.ids) if s in done], dtype=np.int64)
    out: dict[str, str] = {}
    if len(keep):
        dist, which = nearest(x, keep)
        near = dist <= (threshold ** 2) * x.shape[1]
        near[keep] = False
        out = {got.ids[i]: got.ids[which[i]] for i in np.flatnonzero(near).tolist()}
    if write:
        dataset = shim.base_dataset(view)
        schema.declare(dataset, {DUPLICATE_OF_FIELD: "str"})
        values = {**dict.fromkeys(got.ids), **out}
        dataset.select(got.ids).set_values(DUPLICATE_OF_FIELD, values, key_field="id")
    return out
