"""Choosing what to label next: uncertainty, diversity (k-center greedy, k-means++), both, and
rare classes first; deterministic for a seed, bad embeddings named."""

import numpy as np
import pytest

from nblabel.curation.selection import k_center_greedy, kmeans_pp, select


def _clusters(seed=0, per=50, centres=((0, 0), (10, 0), (0, 10), (10, 10))):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(c, 0.3, size=(per, 2)) for c in centres])
    return x.astype(np.float32), np.repeat(np.arange(len(centres)), per)


def test_k_center_greedy_covers_every_cluster_and_respects_the_labeled():
    x, which = _clusters()
    picks = k_center_greedy(x, 4, seed=1)
    assert sorted(which[picks]) == [0, 1, 2, 3]
    more = k_center_greedy(x, 3, labeled=[0], seed=1)
    assert 0 not in more and sorted(which[more]) == [1, 2, 3], "the labeled cluster is covered"


def test_kmeans_pp_is_deterministic_and_spread():
    x, which = _clusters()
    a, b = kmeans_pp(x, 4, seed=3), kmeans_pp(x, 4, seed=3)
    assert a == b and len(set(which[a])) >= 3


def test_combined_picks_uncertain_images_unlike_each_other():
    x, which = _clusters()
    u = np.where(which == 0, 0.1, 0.9)  # one cluster the model is sure of
    u[np.nonzero(which == 3)[0][:8]] = 0.95  # the most uncertain images, alike...
    picks = select(6, method="combined", uncertainty=u, embeddings=x, seed=0)
    assert len(set(picks)) == 6
    assert not (which[picks] == 0).any(), "certain images are not picked"
    assert len(set(which[picks])) >= 2, "...does not take every pick: diversity"
    only_u = select(6, method="uncertainty", uncertainty=u, embeddings=x)
    assert set(which[only_u]) == {3}, "uncertainty alone piles into one cluster"
    assert len(set(which[picks])) > len(set(which[only_u]))
    assert select(6, method="combined", uncertainty=u, embeddings=x, seed=0) == picks


def test_rare_classes_are_picked_first_and_labeled_images_never():
    x, _ = _clusters()
    classes = [{"common"} for _ in range(len(x))]
    classes[17] = {"common", "rare"}
    u = np.full(len(x), 0.5)
    picks = select(3, method="uncertainty", uncertainty=u, embeddings=x, classes=classes,
                   labeled=[0, 1, 2])
    assert picks[0] == 17 and not {0, 1, 2} & set(picks)
    assert select(5, method="random", uncertainty=u, labeled=range(len(x))) == []


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="image 1 is not finite"):
        k_center_greedy([[0.0, 1.0], [np.nan, 0.0]], 1)
    with pytest.raises(ValueError, match="2-D"):
        kmeans_pp(np.zeros(5), 2)
    with pytest.raises(ValueError, match="unknown selection method"):
        select(2, method="best", uncertainty=[0.1, 0.2])
    with pytest.raises(ValueError, match="needs per-image embeddings"):
        select(1, method="diversity", uncertainty=[0.1, 0.2])
