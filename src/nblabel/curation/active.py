"""Active selection over a FiftyOne view: which unreviewed images a person should label next.

:func:`active_order` joins what the dataset holds to :func:`nblabel.curation.selection.select`:

- uncertainty: ``nblabel_difficulty`` (the chance an image's proposals hold an error,
  :mod:`nblabel.curation.uncertainty`), computed when missing; 0 where nothing is proposed;
- embeddings: the stored ``nblabel_embedding`` (:mod:`nblabel.curation.brain`); an
  ``embedder`` given here embeds what it has not embedded yet (resumable), and with none stored
  the pixel embedder runs first (no model or download needed);
- classes: the labels shown on each image (confidence at the review threshold), so a class
  proposed on few images gets picked;
- reviewed images count as labeled (diversity covers what they do not), and unreviewed
  near-duplicates of them are set aside (``nblabel_duplicate_of``), not picked.

The ``k`` picks come first, then the other candidates by difficulty (ordering all of a large
view by diversity would cost n x n). Used by :func:`nblabel.curation.queue.build_queue`
(``order="active"``) and :meth:`nblabel.learning.LearningLoop.next_round`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from nblabel.core.rules import DEFAULT_THRESHOLD
from nblabel.curation.brain import DUPLICATE_DISTANCE, embed, near_duplicates, stored
from nblabel.curation.embeddings import Embedder, PixelEmbedder, standardize
from nblabel.curation.selection import select
from nblabel.curation.uncertainty import ensure_difficulty
from nblabel.store import shim
from nblabel.store.schema import EMBEDDING_FIELD, REVIEWED_TAG

if TYPE_CHECKING:
    import fiftyone as fo

__all__ = ["ActiveOrder", "active_order"]


@dataclass
class ActiveOrder:
    """Picks to label next, then the other candidates; near-duplicates set aside (sample id:
    the reviewed image it repeats) and samples with no usable embedding (id: why)."""

    picks: list[str]
    rest: list[str]
    duplicates: dict[str, str] = field(default_factory=dict)
    unembedded: dict[str, str] = field(default_factory=dict)

    @property
    def order(self) -> list[str]:
        return self.picks + self.rest


def _difficulty(view: fo.core.collections.SampleCollection, ids: list[str], field: str
                ) -> dict[str, float]:
    if not shim.base_dataset(view).has_sample_field(field):
        return dict.fromkeys(ids, 0.0)
    return {s: float(d or 0.0) for s, d in zip(ids, ensure_difficulty(view, field), strict=True)}


def _shown_classes(view: fo.core.collections.SampleCollection, field: str, threshold: float
                   ) -> list[set[str]]:
    if not shim.base_dataset(view).has_sample_field(field):
        return [set() for _ in range(len(view))]
    labels, confs = view.values([f"{field}.detections.label", f"{field}.detections.confidence"])
    return [{lb for lb, c in zip(ls or [], cs or [], strict=False) if (c or 0) >= threshold}
            for ls, cs in zip(labels, confs, strict=True)]


def active_order(view: fo.core.collections.SampleCollection, k: int, *,
                 method: str = "combined", field: str = "predictions",
                 embedder: Embedder | None = None, skip_duplicates: bool = True,
                 duplicate_distance: float = DUPLICATE_DISTANCE,
                 threshold: float = DEFAULT_THRESHOLD, rare: int = 3, seed: int = 0
                 ) -> ActiveOrder:
    """The ``k`` unreviewed images of ``view`` to label next by ``method`` (``combined``,
    ``uncertainty``, ``diversity`` or ``random``), then the rest (see the module doc)."""
    dataset = shim.base_dataset(view)
    if embedder is not None:
        embed(view, embedder)
    elif not dataset.has_sample_field(EMBEDDING_FIELD) or view.exists(EMBEDDING_FIELD, False
                                                                      ).count():
        embed(view, PixelEmbedder())
    ids = list(view.values("id"))
    reviewed = set(view.match_tags(REVIEWED_TAG).values("id"))
    got = stored(view)
    duplicates = (near_duplicates(view, sorted(reviewed), threshold=duplicate_distance,
                                  embeddings=got) if skip_duplicates and reviewed else {})
    difficulty = _difficulty(view, ids, field)
    classes_of = dict(zip(ids, _shown_classes(view, field, threshold), strict=True))
    # Selection runs over the embedded images: the reviewed (as labeled) and the candidates.
    rows = [i for i, s in enumerate(got.ids) if s in reviewed or s not in duplicates]
    sel_ids = [got.ids[i] for i in rows]
    labeled = [j for j, s in enumerate(sel_ids) if s in reviewed]
    chosen = select(
        k, method=method, uncertainty=[difficulty[s] for s in sel_ids],
        embeddings=standardize(got.vectors[rows]) if rows else np.zeros((0, 1), np.float32),
        labeled=labeled, classes=[classes_of[s] for s in sel_ids], rare=rare, seed=seed)
    picks = [sel_ids[j] for j in chosen]
    taken = set(picks) | reviewed | set(duplicates)
    rest = sorted((s for s in ids if s not in taken), key=lambda s: -difficulty[s])
    return ActiveOrder(picks, rest, duplicates, dict(got.skipped))

