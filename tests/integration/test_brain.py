"""Embeddings stored in FiftyOne in bulk and resumably, indexed by FiftyOne Brain with
precomputed vectors (nothing downloaded), near-duplicates of reviewed images set aside, and bad
input named: an unreadable image, a vector of the wrong size, an embedder that cannot work."""

import uuid

import fiftyone as fo
import numpy as np
import pytest

from nblabel.curation.brain import embed, index, near_duplicates, similar, stored
from nblabel.curation.embeddings import ModelEmbedder, PixelEmbedder
from nblabel.demo.synthetic import make_shapes, near_copy
from nblabel.store.schema import DUPLICATE_OF_FIELD, EMBEDDING_FIELD, UNIQUENESS_FIELD


@pytest.fixture
def with_copies(tmp_path):
    """24 generated images, near copies of the first 8, and one unreadable file."""
    images = make_shapes(tmp_path / "img", 24, seed=3)
    copies = [near_copy(im, tmp_path / "copy" / f"copy_{k}.jpg", seed=k)
              for k, im in enumerate(images[:8])]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    ds = fo.Dataset(f"brain-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(p)) for p in
                    [*(i.path for i in images), *(c.path for c in copies), broken]],
                   progress=False)
    yield ds
    ds.delete()


def test_embed_is_bulk_resumable_and_names_what_failed(with_copies):
    ds = with_copies
    ids = ds.values("id")
    seen = []
    first = embed(ds.limit(20), PixelEmbedder(), batch_size=8,
                  progress=lambda i, n: seen.append((i, n)))
    assert first.embedded == 20 and first.already == 0 and seen[-1] == (20, 20)
    # Stopped half-way: the next run embeds only the rest; the broken file is named.
    second = embed(ds, PixelEmbedder(), batch_size=8)
    assert second.already == 20 and second.embedded == 12
    assert list(second.failed) == [ids[-1]] and "broken.jpg" in second.failed[ids[-1]]
    got = stored(ds)
    assert len(got.ids) == 32 and got.vectors.shape == (32, 20)
    assert ids[-1] in got.skipped and "no nblabel_embedding" in got.skipped[ids[-1]]
    # Another tool stored a vector of another size: named and left out, the rest goes on.
    ds.select(ids[0]).set_values(EMBEDDING_FIELD, [np.ones(7)])
    again = stored(ds)
    assert ids[0] not in again.ids and "7 numbers, the others 20" in again.skipped[ids[0]]


def test_brain_indexes_precomputed_embeddings_and_duplicates_are_set_aside(with_copies):
    ds = with_copies
    embed(ds, PixelEmbedder())
    ids = ds.values("id")
    originals, copies = ids[:8], ids[24:32]
    got = index(ds)
    assert ids[-1] in got.skipped  # the unreadable image
    # Brain's results: similar images (a copy's nearest is its original), the 2-D plot,
    # uniqueness (copies less unique than the rest) and near-duplicate groups.
    for o, c in zip(originals, copies, strict=True):
        assert similar(ds, c, k=2).values("id")[1] == o
    assert ds.load_brain_results("nblabel_embedding_plot").points.shape == (32, 2)
    uniq = dict(zip(ids, ds.values(UNIQUENESS_FIELD), strict=True))
    assert np.mean([uniq[c] for c in copies]) < np.mean([uniq[i] for i in ids[8:24]])
    pairs = {frozenset([k, d]) for k, ds_ in got.duplicates.items() for d in ds_}
    found = sum(frozenset([o, c]) in pairs for o, c in zip(originals, copies, strict=True))
    assert found >= 6, got.duplicates
    assert len(pairs) <= found + 1  # at most one distinct pair taken for a copy
    # The queue's rule: unreviewed near copies of reviewed images are set aside, by name.
    dup = near_duplicates(ds, reviewed=originals)
    assert sum(dup.get(c) == o for o, c in zip(originals, copies, strict=True)) >= 7
    assert not set(dup) & set(ids[8:24])
    assert ds[copies[0]][DUPLICATE_OF_FIELD] == originals[0]


def test_an_embedder_that_cannot_work_stops_with_its_reason(with_copies, tmp_path):
    bad = tmp_path / "not-a-model.pt"
    bad.write_bytes(b"nothing here")
    with pytest.raises(ValueError, match=r"cannot embed with model:not-a-model\.pt"):
        embed(with_copies, ModelEmbedder(bad), batch_size=4)


def test_ray_workers_embed_what_this_process_embeds(with_copies):
    import ray

    ds = with_copies
    embed(ds, PixelEmbedder())
    local = stored(ds)
    try:
        report = embed(ds, PixelEmbedder(), backend="ray", redo=True, batch_size=8,
                       num_workers=2)
    finally:
        ray.shutdown()
    assert report.embedded == 32 and len(report.failed) == 1
    again = stored(ds)
    assert again.ids == local.ids and np.allclose(again.vectors, local.vectors, atol=1e-5)
