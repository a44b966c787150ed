"""The review queue: which images come first, so that human time goes where it saves most.

Orderings (``build_queue(view, order=...)``):

- ``difficulty``: most difficult images first (``nblabel_difficulty``, computed when missing);
- ``uncertainty``: the image with the most uncertain proposal first (least confidence of the
  proposal's (c, 1 - c): a proposal near 0.5 is the least sure either way);
- ``errors``: most evaluation errors (false positives + false negatives of ``eval_key``, by
  default ``nblabel_eval`` from :func:`nblabel.curation.evaluation.evaluate`) first, ties by
  mistakenness;
- ``disagreement``: where models disagree most first (``nblabel_disagreement``: from an
  ensemble's ``agreement``, or from ``others=`` fields of other models' proposals);
- ``class_balanced``: round-robin over the images' main predicted class, rarest class first,
  each class in difficulty order;
- ``active``: the ``round_size`` unreviewed images that :func:`nblabel.curation.active.
  active_order` picks (uncertain and unlike each other and the reviewed ones, rare classes
  first; embeddings stored or made with the pixel embedder), then the rest by difficulty;
- ``random``: shuffled (seeded);
- ``view``: the view's own order.

An ``exploration`` share (default 10 %) of the positions is filled with images drawn at random
from the rest of the queue, deterministically for a ``seed``, so a model's blind spots (confident
and wrong) still reach the reviewer (in ``active`` order, only after the picks).
``save_queue`` keeps a queue as a FiftyOne saved view.

Near-duplicates: when the view's images have embeddings (``nblabel_embedding``, see
:mod:`nblabel.curation.brain`), unreviewed near copies of reviewed images leave the queue
(``skip_duplicates``, on by default) and are marked ``nblabel_duplicate_of``: labeling the same
picture twice teaches a model nothing.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nblabel.curation.uncertainty import (
    DISAGREEMENT_FIELD,
    compute_uncertainty,
    ensure_difficulty,
    least_confidence,
    numbers,
)
from nblabel.store import shim
from nblabel.store.schema import DEFAULT_EVAL_KEY, EMBEDDING_FIELD, REVIEWED_TAG

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["ORDERINGS", "build_queue", "explore", "save_queue"]

ORDERINGS = ("difficulty", "uncertainty", "errors", "disagreement", "class_balanced", "active",
             "random", "view")


def explore(ordered: Sequence[str], share: float, seed: int = 0) -> list[str]:
    """Fill about ``share`` of the positions with items drawn at random from the rest.

    Linear in the queue's length: each position is exploratory with probability ``share``;
    exploratory positions take items drawn at random (seeded) from the queue, which then leave
    their place in the order; the others keep the order.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"exploration share must be in [0, 1], got {share}")
    import numpy as np

    n = len(ordered)
    if share == 0 or n < 2:
        return list(ordered)
    rng = np.random.default_rng(seed)
    explore_at = rng.random(n) < share
    explore_at[0] = False  # the first image is the ordering's best
    drawn = rng.choice(np.arange(1, n), size=int(explore_at.sum()), replace=False)
    taken = np.zeros(n, dtype=bool)
    taken[drawn] = True
    rest = iter(np.flatnonzero(~taken).tolist())
    picks = iter(drawn.tolist())
    return [ordered[next(picks) if e else next(rest)] for e in explore_at.tolist()]


def build_queue(
    view: fo.core.collections.SampleCollection,
    order: str = "difficulty",
    *,
    field: str = "predictions",
    eval_key: str | None = None,
    others: Sequence[str] = (),
    exploration: float = 0.1,
    seed: int = 0,
    round_size: int = 50,
    skip_duplicates: bool = True,
) -> list[str]:
    """Sample ids of ``view`` in review order (see the module docstring); ``round_size``: how
    many images the ``active`` order picks.

    ``others``: fields with other models' proposals; difficulty and disagreement then count
    where they disagree with ``field`` (see
    :func:`nblabel.curation.uncertainty.compute_uncertainty`).
    """
    if order not in ORDERINGS:
        raise ValueError(f"unknown ordering {order!r}; choose one of {', '.join(ORDERINGS)}")
    dataset = shim.base_dataset(view)
    ids = list(view.values("id"))
    if order == "active":
        from nblabel.curation.active import active_order

        act = active_order(view, round_size, field=field, skip_duplicates=skip_duplicates,
                           seed=seed)
        return act.picks + explore(act.rest, exploration, seed)
    if order == "view":
        ordered = ids
    elif order == "random":
        ordered = ids[:]
        random.Random(seed).shuffle(ordered)
    elif order == "uncertainty":
        confs = numbers(view.values(f"{field}.detections.confidence"), ids,
                        f"{field}.detections.confidence")
        most = [max((least_confidence([c]) for c in (cs or []) if c is not None), default=0.0)
                for cs in confs]
        ordered = _by_score(ids, most)
    elif order == "errors":
        eval_key = eval_key or DEFAULT_EVAL_KEY
        fp, fn = f"{eval_key}_fp", f"{eval_key}_fn"
        missing = [f for f in (fp, fn) if not dataset.has_sample_field(f)]
        if missing:
            raise ValueError(f"no evaluation fields {missing} on {dataset.name!r}: run "
                             "nblabel.curation.evaluation.evaluate(view, "
                             f"eval_key={eval_key!r}) first")
        fps, fns = view.values([fp, fn])
        errors = {s: (a or 0) + (b or 0) for s, a, b in zip(ids, fps, fns, strict=True)}
        # Ties: higher fiftyone-brain mistakenness first, when computed.
        mist = (view.values("mistakenness") if dataset.has_sample_field("mistakenness")
                else [None] * len(ids))
        tie = {s: m or 0.0 for s, m in zip(ids, mist, strict=True)}
        ordered = sorted(ids, key=lambda s: (-errors[s], -tie[s]))
    elif order == "disagreement":
        if others or not dataset.has_sample_field(DISAGREEMENT_FIELD):
            compute_uncertainty(view, field, others=others)
        if not dataset.has_sample_field(DISAGREEMENT_FIELD):
            raise ValueError(f"order='disagreement' needs several models: an ensemble's "
                             f"proposals in {field!r} or others=[fields of other models]")
        dis = dict(zip(ids, view.values(DISAGREEMENT_FIELD), strict=True))
        ordered = sorted(ids, key=lambda s: -(dis[s] or 0.0))
    else:
        by_difficulty = _by_score(ids, ensure_difficulty(view, field, others=others))
        ordered = (by_difficulty if order == "difficulty"
                   else _class_balanced(view, by_difficulty, field))
    if skip_duplicates and dataset.has_sample_field(EMBEDDING_FIELD):
        reviewed = view.match_tags(REVIEWED_TAG).values("id")
        if reviewed:
            from nblabel.curation.brain import near_duplicates

            dup = near_duplicates(view, reviewed)
            ordered = [s for s in ordered if s not in dup]
    return explore(ordered, exploration, seed)


def _by_score(ids: list[str], scores: Sequence[float | None]) -> list[str]:
    """``ids`` by descending score (missing scores last), stable: one numpy sort."""
    import numpy as np

    values = np.array([s if isinstance(s, int | float) else -np.inf for s in scores], dtype=float)
    order = np.argsort(-values, kind="stable")
    return [ids[i] for i in order.tolist()]


def _class_balanced(
    view: fo.core.collections.SampleCollection, ordered: list[str], field: str
) -> list[str]:
    ids, labels, confs = view.values(
        ["id", f"{field}.detections.label", f"{field}.detections.confidence"]
    )
    main: dict[str, str] = {}
    for sid, ls, cs in zip(ids, labels, confs, strict=True):
        pairs = [(c or 0.0, label) for label, c in zip(ls or [], cs or [], strict=False)]
        main[sid] = max(pairs)[1] if pairs else ""
    groups: dict[str, list[str]] = defaultdict(list)
    for sid in ordered:
        groups[main[sid]].append(sid)
    queues = sorted(groups.values(), key=len)  # rarest class first
    out: list[str] = []
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out


def save_queue(dataset: fo.Dataset, name: str, ids: Sequence[str]) -> fo.DatasetView:
    """Keep ``ids`` in this order as the saved view ``name`` (overwriting one of that name)."""
    view = dataset.select(list(ids), ordered=True)
    dataset.save_view(name, view, overwrite=True)
    return view
