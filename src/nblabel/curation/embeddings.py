"""Per-image embeddings with no download, for diversity selection and near-duplicates.

- :func:`model_embeddings`: pooled features of the detector's own backbone (ultralytics'
  ``YOLO.embed``: the second-to-last layer, global average pooled), in batches;
- :func:`pixel_embeddings`: before any model exists, the statistics (mean and standard deviation
  per channel) of the exemplar assistant's pixel filters
  (:func:`nblabel.sources.exemplar.pixel_features`: colour at two scales, edges, blobs at three
  scales) on a 128 px thumbnail: what the assistant itself sees.

An image that cannot be read or embedded gets a row of NaN and its index in ``failed`` with the
reason; the others go on. Work in progress for issue 24: not yet stored through FiftyOne Brain.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Embeddings", "model_embeddings", "pixel_embeddings"]


@dataclass
class Embeddings:
    """One row per image (NaN where it failed) and why each failed one did."""

    vectors: np.ndarray
    failed: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        """Indices of the images embedded."""
        return np.array([i for i in range(len(self.vectors)) if i not in self.failed], int)


def _fill(n: int, one: Callable[[int], np.ndarray], progress: Callable[[int, int], None] | None
          ) -> Embeddings:
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


def pixel_embeddings(paths: Sequence[str | os.PathLike[str]], *, side: int = 128,
                     progress: Callable[[int, int], None] | None = None) -> Embeddings:
    """20 numbers per image: mean and standard deviation of each pixel filter on a ``side`` px
    thumbnail (see the module doc)."""
    from nblabel.core.images import load_rgb
    from nblabel.sources.exemplar import pixel_features, rgb_array

    def one(i: int) -> np.ndarray:
        image = load_rgb(os.fspath(paths[i]))
        image.thumbnail((side, side))
        f = pixel_features(rgb_array(image)).reshape(-1, 10)
        return np.concatenate([f.mean(axis=0), f.std(axis=0)])

    return _fill(len(paths), one, progress)


def model_embeddings(weights: str | os.PathLike[str], paths: Sequence[str | os.PathLike[str]],
                     *, imgsz: int = 320, progress: Callable[[int, int], None] | None = None
                     ) -> Embeddings:
    """The detector's pooled backbone features per image (``YOLO.embed``); with a model that has
    no layers to embed (an exported one) every image fails, the reason naming the weights."""
    from nblabel.core.images import load_rgb
    from nblabel.sources.yolo import prepare_ultralytics

    prepare_ultralytics()
    from ultralytics import YOLO

    model = YOLO(os.fspath(weights))

    def one(i: int) -> np.ndarray:
        image = np.asarray(load_rgb(os.fspath(paths[i])))[..., ::-1]  # ultralytics wants BGR
        try:
            (vector,) = model.embed(image, imgsz=imgsz, verbose=False)
        except TypeError as exc:
            raise ValueError(f"{weights} has no backbone to embed with: {exc}") from exc
        return vector.detach().cpu().numpy()

    return _fill(len(paths), one, progress)
