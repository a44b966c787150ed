"""Embeddings with no download: the demo detector's own backbone and, before any model, the
assistant's pixel filters; an unreadable image is named and the rest go on. Real images:
scikit-image's coins photo and tissue tiles (nblabel.demo.real)."""

import numpy as np
from PIL import Image

from nblabel.curation.embeddings import model_embeddings, pixel_embeddings
from nblabel.curation.selection import select
from nblabel.demo.real import coins, nuclei, write_tiles


def _images(tmp_path):
    tissue = [t.path for t in write_tiles(nuclei(), tmp_path / "tissue", 128)[:4]]
    photo = coins()
    paths = []
    for k, (x, y) in enumerate([(0, 0), (150, 0), (0, 150), (150, 150)]):
        p = tmp_path / f"coins-{k}.png"
        Image.fromarray(photo.pixels[y:y + 150, x:x + 200]).save(p)
        paths.append(p)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    return tissue + paths + [broken]


def _families_apart(vectors):
    """Mean distance between the two families over the mean distance within them."""
    x = (vectors - vectors.mean(0)) / (vectors.std(0) + 1e-6)
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    within = (d[:4, :4].sum() + d[4:, 4:].sum()) / (2 * 12)
    return d[:4, 4:].mean() / within


def test_pixel_embeddings_tell_families_apart_and_name_a_broken_image(tmp_path):
    paths = _images(tmp_path)
    seen = []
    emb = pixel_embeddings(paths, progress=lambda i, n: seen.append((i, n)))
    assert emb.vectors.shape == (9, 20) and seen[-1] == (9, 9)
    assert list(emb.failed) == [8] and "broken.jpg" in emb.failed[8]
    assert np.isnan(emb.vectors[8]).all() and list(emb.ok) == list(range(8))
    assert _families_apart(emb.vectors[:8]) > 1.5
    # Diversity over them: two picks, one of each family.
    picks = select(2, method="diversity", embeddings=emb.vectors[:8], seed=0)
    assert {p < 4 for p in picks} == {True, False}


def test_the_detector_embeds_with_its_own_backbone(tmp_path, demo_model):
    paths = _images(tmp_path)
    emb = model_embeddings(demo_model, paths, imgsz=160)
    assert list(emb.failed) == [8] and "broken.jpg" in emb.failed[8]
    assert emb.vectors.shape[0] == 9 and emb.vectors.shape[1] >= 64
    assert np.isfinite(emb.vectors[:8]).all()
    assert _families_apart(emb.vectors[:8]) > 1.0
