"""Which images to label next: by uncertainty, by diversity over embeddings, or both.

Pure numpy, deterministic for a seed, memory bounded (distances are computed against one
chosen centre at a time, never as an n x n matrix), so it runs over a million embeddings:

- :func:`k_center_greedy` (Sener and Savarese, "Active learning for convolutional neural
  networks: a core-set approach", ICLR 2018): each pick is the image farthest from everything
  labeled or picked so far, covering the embedding space;
- :func:`kmeans_pp` seeding (Arthur and Vassilvitskii 2007), optionally weighted: spread picks,
  drawn in proportion to squared distance (times weight);
- :func:`select`: ``"uncertainty"`` (the most uncertain first), ``"diversity"`` (k-center
  greedy), ``"combined"`` (as PPAL, Yang et al. 2024: a pool of the ``pool`` x k most uncertain,
  then k-means++ weighted by uncertainty within it, so picks are both uncertain and unlike each
  other), and ``"random"``; ``classes`` (each image's predicted classes) reserves picks for rare
  classes, so a class seen on few images is not left out.

Work in progress for issue 24: not yet used by the learning loop or the queue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

import numpy as np

__all__ = ["METHODS", "k_center_greedy", "kmeans_pp", "nearest", "select"]

METHODS = ("random", "uncertainty", "diversity", "combined")


def _as_matrix(embeddings: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (images x features), got shape "
                         f"{x.shape}")
    if not np.isfinite(x).all():
        bad = int(np.nonzero(~np.isfinite(x).all(axis=1))[0][0])
        raise ValueError(f"embedding of image {bad} is not finite")
    return x


def _sq_dist(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    d = x - c
    return np.einsum("ij,ij->i", d, d)


def nearest(x: np.ndarray, rows: np.ndarray, block: int = 4096
            ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's squared distance to the nearest of ``x[rows]`` (inf with none) and which of
    ``rows`` that is, in blocks of ``block`` x ``block`` distances: a million images against ten
    thousand labeled ones take matrix products, not ten thousand passes, and 64 MB at a time."""
    best = np.full(len(x), np.inf, dtype=np.float32)
    which = np.full(len(x), -1, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    norms = np.einsum("ij,ij->i", x, x)
    for c0 in range(0, len(rows), block):
        cs = rows[c0:c0 + block]
        c = x[cs]
        for r0 in range(0, len(x), block):
            d = x[r0:r0 + block] @ c.T
            d *= -2
            d += norms[r0:r0 + block, None]
            d += norms[cs][None]
            j = d.argmin(axis=1)
            dj = d[np.arange(len(d)), j]
            closer = dj < best[r0:r0 + block]
            best[r0:r0 + block][closer] = dj[closer]
            which[r0:r0 + block][closer] = cs[j[closer]]
    return np.maximum(best, 0), which


def k_center_greedy(embeddings: np.ndarray | Sequence[Sequence[float]], k: int,
                    labeled: Collection[int] = (), seed: int = 0) -> list[int]:
    """``k`` image indices, each the farthest from all labeled and picked ones (the first,
    with nothing labeled, drawn with ``seed``)."""
    x = _as_matrix(embeddings)
    n = len(x)
    k = min(k, n - len(set(labeled)))
    if k <= 0:
        return []
    dist, _ = nearest(x, np.fromiter(set(labeled), np.int64, len(set(labeled))))
    picks: list[int] = []
    if not labeled:
        first = int(np.random.default_rng(seed).integers(n))
        picks.append(first)
        dist = _sq_dist(x, x[first])
    while len(picks) < k:
        i = int(np.argmax(dist))
        picks.append(i)
        dist = np.minimum(dist, _sq_dist(x, x[i]))
    return picks


def kmeans_pp(embeddings: np.ndarray | Sequence[Sequence[float]], k: int,
              weights: Sequence[float] | np.ndarray | None = None, seed: int = 0) -> list[int]:
    """``k`` indices by k-means++ seeding, each drawn in proportion to its squared distance to
    the picks so far times its weight (default 1)."""
    x = _as_matrix(embeddings)
    n = len(x)
    k = min(k, n)
    if k <= 0:
        return []
    w = np.ones(n) if weights is None else np.clip(np.asarray(weights, float), 1e-9, None)
    rng = np.random.default_rng(seed)
    picks = [int(rng.choice(n, p=w / w.sum()))]
    nearest = _sq_dist(x, x[picks[0]]).astype(float)
    while len(picks) < k:
        p = nearest * w
        total = p.sum()
        if total <= 0:  # every remaining image coincides with a pick
            rest = np.setdiff1d(np.arange(n), picks)
            picks.append(int(rng.choice(rest)))
        else:
            picks.append(int(rng.choice(n, p=p / total)))
        nearest = np.minimum(nearest, _sq_dist(x, x[picks[-1]]))
    return picks


def select(k: int, *, method: str = "combined", uncertainty: Sequence[float] | None = None,
           embeddings: np.ndarray | None = None, labeled: Collection[int] = (),
           classes: Sequence[Collection[str]] | None = None, rare: int = 3, pool: int = 4,
           seed: int = 0) -> list[int]:
    """``k`` indices of images to label next, none of them ``labeled`` (see the module doc).
    ``uncertainty``: per image, higher is more worth a look; ``embeddings``: per image;
    ``classes``: per image, the classes proposed on it (a class on at most ``rare`` unlabeled
    images gets one of them picked first)."""
    if method not in METHODS:
        raise ValueError(f"unknown selection method {method!r}: use one of {', '.join(METHODS)}")
    n = len(uncertainty) if uncertainty is not None else (
        len(embeddings) if embeddings is not None else len(classes or []))
    done = set(labeled)
    free = np.setdiff1d(np.arange(n, dtype=np.int64), np.fromiter(done, np.int64, len(done)))
    k = min(k, len(free))
    if k <= 0:
        return []
    picks: list[int] = []
    if classes is not None:  # rare classes first, one image each
        counts = Counter(c for i in free for c in set(classes[i]))
        u = np.asarray(uncertainty, float) if uncertainty is not None else np.zeros(n)
        for cls in sorted(c for c, m in counts.items() if m <= rare):
            holders = [int(i) for i in free if cls in classes[i] and int(i) not in picks]
            if holders and len(picks) < k:
                picks.append(max(holders, key=lambda i: (u[i], -i)))
    rest = np.setdiff1d(free, np.asarray(picks, dtype=np.int64))
    need = k - len(picks)
    if need <= 0 or len(rest) == 0:
        return picks[:k]
    if method == "random":
        chosen = np.random.default_rng(seed).choice(rest, need, replace=False).tolist()
    elif method == "uncertainty":
        if uncertainty is None:
            raise ValueError("uncertainty selection needs per-image uncertainty")
        u = np.asarray(uncertainty, float)[rest]
        chosen = rest[np.lexsort((rest, -u))][:need].tolist()
    elif method == "diversity":
        if embeddings is None:
            raise ValueError("diversity selection needs per-image embeddings")
        x = _as_matrix(embeddings)
        sub = np.concatenate([x[rest], x[sorted(done | set(picks))]])
        got = k_center_greedy(sub, need, labeled=range(len(rest), len(sub)), seed=seed)
        chosen = rest[got].tolist()
    else:
        if uncertainty is None or embeddings is None:
            raise ValueError("combined selection needs uncertainty and embeddings")
        u = np.asarray(uncertainty, float)[rest]
        top = rest[np.lexsort((rest, -u))][:max(need, pool * need)]
        x = _as_matrix(embeddings)[top]
        weights = np.asarray(uncertainty, float)[top] + 1e-6
        chosen = top[kmeans_pp(x, need, weights, seed)].tolist()
    return picks + [int(i) for i in chosen]
