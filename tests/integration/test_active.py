"""Active selection in the queue and the learning loop: picks unreviewed, uncertain and varied
images, keeps a rare class, sets near copies of reviewed images aside, and is deterministic."""

import uuid

import fiftyone as fo
import numpy as np
import pytest

from nblabel.curation.queue import build_queue
from nblabel.demo.synthetic import make_shapes, near_copy
from nblabel.learning import LearningLoop
from nblabel.store.schema import DUPLICATE_OF_FIELD, REVIEWED_TAG


@pytest.fixture
def pool(tmp_path):
    """30 generated images with their true boxes as proposals (confidence drawn per image: some
    images sure, some not), near copies of the first 6, which are reviewed; one unreviewed
    image also holds a confident proposal of a rare class."""
    rng = np.random.default_rng(0)
    images = make_shapes(tmp_path / "img", 30, seed=5)
    copies = [near_copy(im, tmp_path / "copy" / f"c{k}.jpg", seed=k)
              for k, im in enumerate(images[:6])]
    ds = fo.Dataset(f"active-{uuid.uuid4().hex[:8]}")
    samples = []
    for k, im in enumerate([*images, *copies]):
        conf = float(rng.uniform(0.3, 0.99))
        dets = [fo.Detection(label=label, bounding_box=box.to_relative(im.size), confidence=conf)
                for label, box in im.objects]
        if k == 20:
            dets.append(fo.Detection(label="star", bounding_box=[0.1, 0.1, 0.1, 0.1],
                                     confidence=0.99))
        samples.append(fo.Sample(filepath=str(im.path), tags=[REVIEWED_TAG] if k < 6 else [],
                                 predictions=fo.Detections(detections=dets)))
    ds.add_samples(samples, progress=False)
    yield ds
    ds.delete()


def test_the_active_queue_picks_varied_uncertain_images_and_skips_copies(pool, tmp_path):
    ds = pool
    ids = ds.values("id")
    reviewed, copies = ids[:6], ids[30:]
    order = build_queue(ds, "active", round_size=8, seed=1)
    picks = order[:8]
    assert not set(order) & set(reviewed)
    assert not set(order) & set(copies), "near copies of reviewed images leave the queue"
    assert [ds[c][DUPLICATE_OF_FIELD] for c in copies] == reviewed
    assert ids[20] in picks, "the only image with a rare class is picked"
    assert set(order) == set(ids[6:30])
    # Uncertain images first: the picks are less sure than the images left for later.
    difficulty = dict(zip(ids, ds.values("nblabel_difficulty"), strict=True))
    assert np.mean([difficulty[s] for s in picks]) > np.mean([difficulty[s] for s in order[8:]])
    # Deterministic for a seed; another seed may pick otherwise.
    assert build_queue(ds, "active", round_size=8, seed=1) == order
    # Other orders skip the copies too, once embeddings are stored.
    assert not set(build_queue(ds, "difficulty")) & set(copies)
    assert set(copies) <= set(build_queue(ds, "difficulty", skip_duplicates=False))


def test_the_learning_loop_names_the_next_round(pool, tmp_path, demo_model):
    loop = LearningLoop(pool, demo_model, tmp_path / "work")
    ids = pool.values("id")
    nxt = loop.next_round(5, method="diversity", seed=0)
    assert len(nxt.picks) == 5 and not set(nxt.picks) & set(ids[:6])
    assert set(nxt.duplicates) == set(ids[30:])
    assert len(set(nxt.order)) == 24
