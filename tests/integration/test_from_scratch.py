"""Labeling from scratch on real images (scikit-image's coins and tissue nuclei, truth by the
documented method of nblabel.demo.real): no proposals field, drawing first, classes typed in
the widget, image-level classes, and exemplar proposals after two drawn boxes."""

import uuid

import fiftyone as fo
import pytest
from PIL import Image

import nblabel
from nblabel.core.labels import Box
from nblabel.demo.real import coins, nuclei, write_tiles
from nblabel.sources import ExemplarError, ExemplarSource


def _msg(widget, **content):
    widget.dispatch(content)


def _recall_precision(props, truth, conf):
    shown = [p for p in props if (p.confidence or 0) >= conf]
    found = sum(any(p.box.iou(t) >= 0.5 for p in shown) for t in truth)
    right = sum(any(p.box.iou(t) >= 0.5 for t in truth) for p in shown)
    return found / len(truth), right / max(1, len(shown))


@pytest.fixture
def coins_dataset(tmp_path):
    """The coins photo as a dataset with no proposals field and no labels at all."""
    real = coins()
    path = tmp_path / "coins.png"
    Image.fromarray(real.pixels).save(path)
    other = tmp_path / "coins-flipped.png"
    Image.fromarray(real.pixels[:, ::-1]).save(other)
    ds = fo.Dataset(f"scratch-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(path)), fo.Sample(filepath=str(other))],
                   progress=False)
    yield ds, real
    ds.delete()


def test_exemplars_find_coins_and_nuclei_on_real_images():
    """Three drawn boxes find the others: every coin; most stroma nuclei once 24 are drawn."""
    real = coins()
    image = Image.fromarray(real.pixels)
    ex = ExemplarSource()
    picks = [real.boxes[k] for k in (0, 7, 19)]
    for b in picks:
        ex.add(image, "coin", b, others=picks)
    recall, precision = _recall_precision(ex.propose([image])[0], real.boxes, 0.3)
    assert recall >= 0.85 and precision >= 0.8, (recall, precision)

    tissue = nuclei()
    image = Image.fromarray(tissue.pixels)
    ex = ExemplarSource()
    picks = list(tissue.boxes[::11][:24])
    for b in picks:
        ex.add(image, "nucleus", b, others=picks)
    recall, precision = _recall_precision(ex.propose([image])[0], tissue.boxes, 0.3)
    assert recall >= 0.5 and precision >= 0.5, (recall, precision)


def test_bad_exemplars_are_named():
    image = Image.fromarray(coins().pixels)
    ex = ExemplarSource()
    with pytest.raises(ExemplarError, match=r"outside the 384x303 image"):
        ex.add(image, "coin", Box(500, 10, 20, 20))
    with pytest.raises(ExemplarError, match=r"2x2 px inside the image.*at least 4x4"):
        ex.add(image, "coin", Box(10, 10, 2, 2))
    assert ex.propose([image]) == [[]], "no exemplars: nothing proposed, no error"


def test_review_opens_without_proposals_and_draws_first(coins_dataset, journal):
    ds, real = coins_dataset
    assert not ds.has_sample_field("predictions")
    w = nblabel.review(ds, journal=journal, classes=["coin"], image_classes=["money", "other"],
                       assist=False)
    assert w.draw_first and w.boxes == [] and w.classes == ["coin"]
    # A class typed in the widget; a bad one is refused with a message naming it.
    _msg(w, kind="add_class", seq=1, name="  washer ")
    assert w.classes == ["coin", "washer"] and w.session.classes == ["coin", "washer"]
    _msg(w, kind="add_class", seq=2, name="coin")
    assert "already there" in w.message
    _msg(w, kind="add_class", seq=3, name="")
    assert "1 to 64 characters" in w.message
    # Image-level classes to choose from, with no scores; choosing one is a decision.
    assert w.image_label["top"] == [["money", None], ["other", None]]
    _msg(w, kind="classify", seq=4, sample_id=w.sample_id, action="edited", label="money",
         seconds=1.0)
    assert w.image_label["status"] == "added" and w.image_label["final"] == "money"
    for b in real.boxes[:3]:
        _msg(w, kind="add", seq=5, sample_id=w.sample_id, label="coin", box=b.as_list(),
             seconds=2.0)
    assert [r["status"] for r in w.boxes] == ["added"] * 3
    _msg(w, kind="go", delta=1)
    w.session.flush()
    first = ds.first()
    assert len(first.ground_truth.detections) == 3
    assert first.ground_truth_class.label == "money"
    w.close()


def test_exemplar_assist_measures_itself_before_it_shows(coins_dataset, journal):
    """By default the assistant proposes in the background on the first image (stored,
    hidden), is measured when the image is finished, and shows on the next image only because
    it measured that it saves time there; the widget says so."""
    ds, real = coins_dataset
    w = nblabel.review(ds, journal=journal, classes=["coin"], prefetch=0)
    assert w.help_status["assistant"]["state"] == "unmeasured"
    for k in (0, 7):
        _msg(w, kind="add", seq=k, sample_id=w.sample_id, label="coin",
             box=real.boxes[k].as_list(), seconds=1.0)
    w.assist._pool.submit(lambda: None).result(timeout=60)
    stored = ds.first().predictions.detections
    assert len(stored) >= 15 and {d.source for d in stored} == {"assistant"}
    assert not [r for r in w.boxes if r["status"] == "pending" and r["visible"]], \
        "stored but hidden until measured"
    assert "kept hidden" in w.notice
    for k, b in enumerate(real.boxes):  # the reviewer draws the rest by hand
        if k not in (0, 7):
            _msg(w, kind="add", seq=k, sample_id=w.sample_id, label="coin", box=b.as_list(),
                 seconds=1.0)
    _msg(w, kind="go", delta=1)  # finished: every coin drawn, nothing shown left pending
    verdict = w.help_status["assistant"]
    assert verdict["state"] == "helping" and verdict["saving"] > 0.3, verdict
    assert verdict["images"] == 1 and verdict["recall"] > 0.5
    assert "saves" in w.notice
    w.assist._pool.submit(lambda: None).result(timeout=60)  # learned from the first image
    w.proposals_updated([w.sample_id])
    w.show(1)
    shown = [r for r in w.boxes if r["status"] == "pending" and r["visible"]]
    mirrored = [Box(real.size.width - b.x2, b.y, b.w, b.h) for b in real.boxes]
    found = sum(any(Box(*r["box"]).iou(t) >= 0.5 for r in shown) for t in mirrored)
    assert found >= 0.6 * len(mirrored), found
    w.close()


def test_exemplar_assist_live_proposes_while_drawing_and_on_the_next_image(coins_dataset,
                                                                          journal):
    ds, real = coins_dataset
    w = nblabel.review(ds, journal=journal, classes=["coin"], prefetch=0, assist="live")
    assert w.draw_first
    _msg(w, kind="add", seq=1, sample_id=w.sample_id, label="coin",
         box=real.boxes[0].as_list(), seconds=1.0)
    assert w.assist is not None and not w.assist.source.exemplars, "one box is not enough"
    _msg(w, kind="add", seq=2, sample_id=w.sample_id, label="coin",
         box=real.boxes[7].as_list(), seconds=2.0)
    w.assist._pool.submit(lambda: None).result(timeout=60)  # the assistant's job has run
    proposed = [r for r in w.boxes if r["status"] == "pending"]
    assert len(proposed) >= 15, f"similar coins proposed on the image: {len(proposed)}"
    assert "similar object(s) proposed" in w.notice
    boxes = [Box(*r["box"]) for r in proposed]
    assert all(b.iou(real.boxes[0]) < 0.3 and b.iou(real.boxes[7]) < 0.3 for b in boxes), \
        "nothing proposed on the drawn coins"
    # Proposals are stored like a model's, and accepting one is an ordinary decision.
    stored = ds.first().predictions.detections
    assert {d.source for d in stored} == {"assistant"}
    _msg(w, kind="decide", seq=3, sample_id=w.sample_id, keys=[proposed[0]["key"]],
         action="accepted", seconds=3.0)
    # The next image (the photo mirrored) arrives with proposals already there.
    _msg(w, kind="go", delta=1)
    assert w.position == 1 and not w.draw_first
    mirrored = [Box(real.size.width - b.x2, b.y, b.w, b.h) for b in real.boxes]
    found = sum(any(Box(*r["box"]).iou(t) >= 0.5 for r in w.boxes) for t in mirrored)
    assert found >= 0.6 * len(mirrored), found  # 2 drawn coins as exemplars, no model
    w.close()


def test_tiles_of_a_real_image_keep_their_objects(tmp_path):
    tissue = nuclei()
    tiles = write_tiles(tissue, tmp_path, 128)
    assert len(tiles) == 16 and all((t.width, t.height) == (128, 128) for t in tiles)
    assert sum(len(t.objects) for t in tiles) >= 0.95 * len(tissue.boxes)


def test_loop_starts_itself_from_scratch_with_small_data_training(tmp_path, journal):
    """No model, no proposals: after 3 reviewed tiles a model trains from the architecture
    yaml (copy-paste images, sized schedule) in the background and proposes on the tiles not
    yet shown; the review is not blocked meanwhile, and stopping ends it."""
    from nblabel.learning import LearningLoop
    from nblabel.store.schema import MODEL_ROUND_FIELD

    tiles = write_tiles(nuclei(), tmp_path / "tiles", 128)[:8]
    ds = fo.Dataset(f"auto-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(t.path)) for t in tiles], progress=False)
    try:
        loop = LearningLoop(ds, "yolov8n.yaml", tmp_path / "models", small_data=True,
                            batch=8, train_args={"epochs": 2}, conf=0.001)
        w = nblabel.review(ds, journal=journal, classes=["nucleus"], assist=False,
                           prefetch=0)
        auto = loop.auto(w, first=3, every=100, min_map50=0.0)
        for t in tiles[:3]:
            for _, b in t.objects:
                _msg(w, kind="add", seq=1, sample_id=w.sample_id, label="nucleus",
                     box=b.as_list(), seconds=1.0)
            _msg(w, kind="go", delta=1)
        # No flush here: the round itself waits for the decisions to reach FiftyOne (it once
        # started before the sync had tagged them and found nothing to train on).
        assert w.reviewed == 3 and auto.running, auto.status
        assert "training model round 1" in w.notice
        # The review goes on while the model trains.
        _msg(w, kind="add", seq=2, sample_id=w.sample_id, label="nucleus",
             box=tiles[3].objects[0][1].as_list(), seconds=1.0)
        version, proposed = auto.rounds[0].result(timeout=600)
        assert version.round == 1 and version.train_images >= 2 and version.val_ids
        # Two epochs learn nothing: measured on the reviewed tile held out of its training,
        # it would not save time, so it proposes nothing and says why (no mAP bar needed).
        assert proposed == [], "a model that does not pay does not propose"
        assert "model round 1 not proposing" in w.notice and "would cost" in w.notice
        assert w.help_status["round-1"]["state"] == "stepped back"
        assert "not proposing" in auto.status and "round-1: stepped back" in auto.status
        assert auto.sources["round-1"]["images"] == len(version.val_ids)
        assert not ds.has_sample_field(MODEL_ROUND_FIELD), "nothing proposed ahead"
        # A model under the bar is kept but proposes nothing: the images ahead keep theirs.
        auto.min_map50, auto.next_at = 1.01, 4
        w.reviewed = 4  # as if one more image were reviewed
        version2, proposed2 = auto.rounds[1].result(timeout=600)
        assert version2.round == 2 and proposed2 == []
        assert "under 1.01" in w.notice and "not proposing" in auto.status
        auto.stop()
        assert auto.status.startswith("stopped")
        w.close()
    finally:
        ds.delete()


def test_a_reviewed_image_teaches_the_assistant(coins_dataset, journal):
    """Leaving an image with everything decided: its boxes become exemplars, the rest of it
    background, and the image ahead is proposed on again with what was learned."""
    ds, real = coins_dataset
    w = nblabel.review(ds, journal=journal, classes=["coin"], prefetch=1, assist="live")
    for k in (0, 7):
        _msg(w, kind="add", seq=k, sample_id=w.sample_id, label="coin",
             box=real.boxes[k].as_list(), seconds=1.0)
    w.assist._pool.submit(lambda: None).result(timeout=60)
    assert len(w.assist.source.exemplars) == 2 and not w.assist.source.backgrounds
    w.accept_all()
    assert all(r["status"] != "pending" for r in w.boxes)
    version = w.assist._version
    _msg(w, kind="go", delta=1)
    w.assist._pool.submit(lambda: None).result(timeout=60)
    assert len(w.assist.source.backgrounds) == 1, "the reviewed image's background"
    assert len(w.assist.source.exemplars) > 10, "accepted coins are exemplars too"
    assert w.assist._version > version
    w.close()
