"""Per-image embeddings with no download, for diversity selection and near-duplicates.

Two embedders, each a picklable callable ``paths -> Embeddings`` (so Ray workers can run them):

- :class:`ModelEmbedder`: pooled features of the detector's own backbone (ultralytics'
  ``YOLO.embed``: the second-to-last layer, global average pooled), in batches;
- :class:`PixelEmbedder`: before any model exists, the statistics (mean and standard deviation
  per channel) of the exemplar assistant's pixel filters
  (:func:`nblabel.sources.exemplar.pixel_features`: colour at two scales, edges, blobs at three
  scales) on a 128 px thumbnail: what the assistant itself sees.

An image that cannot be read or embedded gets a row of NaN and its index in ``failed`` with the
reason; the others go on. :mod:`nblabel.curation.brain` stores them in FiftyOne in bulk,
resumably, and indexes them with FiftyOne Brain.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Embedder", "Embeddings", "ModelEmbedder", "PixelEmbedder", "model_embeddings",
           "pixel_embeddings", "standardize"]

Progress = Callable[[int, int], None]


@dataclass
class Embeddings:
    """One row per image (NaN where it failed) and why each failed one did."""

    vectors: np.ndarray
    failed: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        """Indices of the images embedded."""
        return np.array([i for i in range(len(self.vectors)) if i not in self.failed], int)


def standardize(vectors: np.ndarray) -> np.ndarray:
    """Each feature to zero mean and unit spread over the finite rows, so that distances weigh
    features alike (pixel statistics and pooled activations live on very different scales)."""
    x = np.asarray(vectors, dtype=np.float32)
    finite = np.isfinite(x).all(axis=1)
    if not finite.any():
        return x.copy()
    mean = x[finite].mean(axis=0)
    std = x[finite].std(axis=0)
    return ((x - mean) / np.where(std > 1e-6, std, 1.0)).astype(np.float32)


def _fill(n: int, one: Callable[[int], np.ndarray], progress: Progress | None) -> Embeddings:
    rows: list[np.ndarray | None] = []
    failed: dict[int, str] = {}
    for i in range(n):
        try:
            v = np.asarray(one(i), dtype=np.float32).ravel()
            if not np.isfinite(v).all():
                raise ValueError("not finite")
            rows.append(v)
        except Exception as exc:  # one image's failure must not stop a bulk run
            failed[i] = f"{type(exc).__name__}: {exc}"
            rows.append(None)
        if progress is not None:
            progress(i + 1, n)
    dims = {len(r) for r in rows if r is not None}
    if len(dims) > 1:
        raise ValueError(f"embeddings of different sizes {sorted(dims)}")
    dim = dims.pop() if dims else 0
    out = np.full((n, dim), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        if r is not None:
            out[i] = r
    return Embeddings(out, failed)


class Embedder:
    """Embeds images by path; ``name`` says which embedding space (stored with the vectors)."""

    name = "embedder"

    def __call__(self, paths: Sequence[str | os.PathLike[str]], progress: Progress | None = None
                 ) -> Embeddings:
        return _fill(len(paths), lambda i: self.one(os.fspath(paths[i])), progress)

    def one(self, path: str) -> np.ndarray:
        raise NotImplementedError


class PixelEmbedder(Embedder):
    """20 numbers per image: mean and standard deviation of each pixel filter on a ``side`` px
    thumbnail (see the module doc)."""

    name = "pixel"

    def __init__(self, side: int = 128) -> None:
        self.side = side

    def one(self, path: str) -> np.ndarray:
        from nblabel.core.images import load_rgb
        from nblabel.sources.exemplar import pixel_features, rgb_array

        image = load_rgb(path)
        image.thumbnail((self.side, self.side))
        f = pixel_features(rgb_array(image)).reshape(-1, 10)
        return np.concatenate([f.mean(axis=0), f.std(axis=0)])


class ModelEmbedder(Embedder):
    """The detector's pooled backbone features per image (``YOLO.embed``); with a model that has
    no layers to embed (an exported one) every image fails, the reason naming the weights. The
    model loads on first use, so the embedder pickles small (Ray ships it to workers)."""

    def __init__(self, weights: str | os.PathLike[str], imgsz: int = 320) -> None:
        self.weights = os.fspath(weights)
        self.imgsz = imgsz
        self.name = f"model:{os.path.basename(self.weights)}"
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None}

    def one(self, path: str) -> np.ndarray:
        from nblabel.core.images import load_rgb

        if self._model is None:
            from nblabel.sources.yolo import prepare_ultralytics

            prepare_ultralytics()
            from ultralytics import YOLO

            self._model = YOLO(self.weights)
        image = np.asarray(load_rgb(path))[..., ::-1]  # ultralytics wants BGR
        try:
            (vector,) = self._model.embed(image, imgsz=self.imgsz, verbose=False)
        except TypeError as exc:
            raise ValueError(f"{self.weights} has no backbone to embed with: {exc}") from exc
        return vector.detach().cpu().numpy()


def pixel_embeddings(paths: Sequence[str | os.PathLike[str]], *, side: int = 128,
                     progress: Progress | None = None) -> Embeddings:
    """:class:`PixelEmbedder` over ``paths``."""
    return PixelEmbedder(side)(paths, progress)


def model_embeddings(weights: str | os.PathLike[str], paths: Sequence[str | os.PathLike[str]],
                     *, imgsz: int = 320, progress: Progress | None = None) -> Embeddings:
    """:class:`ModelEmbedder` over ``paths``."""
    return ModelEmbedder(weights, imgsz)(paths, progress)
