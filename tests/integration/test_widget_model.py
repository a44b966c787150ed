"""The widget's Python side (traitlets and messages) against a real FiftyOne dataset.

The same messages the browser sends are delivered to the message handler; the browser tests
cover the JavaScript side.
"""

from types import SimpleNamespace

import fiftyone as fo
from fiftyone import ViewField as F

import nblabel


def _msg(widget, **content):
    widget.dispatch(content)


def test_widget_shows_image_as_binary_and_proposals_in_pixels(shapes_dataset, journal):
    w = nblabel.review(shapes_dataset, journal=journal)
    state = w.state
    assert isinstance(w.image, bytes) and w.image[:2] == b"\xff\xd8", "raw JPEG bytes"
    assert (w.image_width, w.image_height) == (320, 240)
    assert w.total == len(shapes_dataset) and w.position == 0 and w.reviewed == 0
    by_id = {p.id: p for p in state.proposals}
    assert sorted(r["key"] for r in w.boxes) == sorted(by_id), "one row per proposal"
    assert all(r["box"] == by_id[r["key"]].box.as_list() for r in w.boxes)
    # Rows come in reading order: bands about one box high, left to right in each band.
    centres = [(r["box"][1] + r["box"][3] / 2, r["box"][0] + r["box"][2] / 2) for r in w.boxes]
    band = sorted(r["box"][3] for r in w.boxes)[len(w.boxes) // 2]
    assert centres == sorted(centres, key=lambda c: (c[0] // band, c[1]))
    assert all(p["status"] == "pending" for p in w.boxes)
    assert w.classes == ["circle", "square", "triangle"]


def test_decide_messages_update_journal_state_and_fiftyone(shapes_dataset, journal):
    w = nblabel.review(shapes_dataset, journal=journal, reviewer="kim")
    ids = [p["key"] for p in w.boxes]
    _msg(w, kind="decide", sample_id=w.sample_id, keys=[ids[0]], action="accepted",
         seconds=1.25)
    _msg(w, kind="decide", sample_id="someone-else", keys=[ids[1]], action="rejected")
    assert [p["status"] for p in w.boxes][:2] == ["accepted", "pending"], \
        "a stale message for another image is ignored"
    for pid in ids[1:]:
        _msg(w, kind="decide", sample_id=w.sample_id, keys=[pid], action="rejected")
    assert w.reviewed == 1
    w.session.flush()
    sample = shapes_dataset[w.sample_id]
    (gt,) = sample.ground_truth.detections
    assert gt.seconds_on_image == 1.25 and gt.reviewer == "kim"
    assert "reviewed" in sample.tags


def test_navigation_keeps_decisions_visible(shapes_dataset, journal):
    w = nblabel.review(shapes_dataset, journal=journal)
    first = w.sample_id
    _msg(w, kind="decide", sample_id=first, keys=[w.boxes[0]["key"]], action="rejected")
    _msg(w, kind="go", delta=1)
    assert w.position == 1 and w.sample_id != first
    _msg(w, kind="go", delta=-1)
    assert w.sample_id == first and w.boxes[0]["status"] == "rejected"
    _msg(w, kind="go", delta=-1)
    assert w.position == 0 and w.message == "first image"


def test_broken_image_shows_error_and_session_moves_on(shapes_dataset, journal, tmp_path):
    ds = shapes_dataset
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    missing = tmp_path / "gone.png"
    ds.add_samples([fo.Sample(filepath=str(broken)), fo.Sample(filepath=str(missing))])
    queue = ds.values("id")
    w = nblabel.review(ds, journal=journal, queue=[queue[0], queue[-2], queue[-1], queue[1]])
    pid = w.boxes[0]["key"]
    _msg(w, kind="decide", sample_id=w.sample_id, keys=[pid], action="accepted")
    _msg(w, kind="go", delta=1)
    assert "broken.jpg" in w.image_error and w.image == b"" and w.boxes == []
    _msg(w, kind="go", delta=1)
    assert "not found" in w.image_error and "gone.png" in w.image_error
    _msg(w, kind="go", delta=1)
    assert w.image_error == "" and w.image and w.position == 3
    w.session.flush()
    assert ds.filter_labels("predictions", F("review") == "accepted").count(
        "predictions.detections") == 1, "the decision before the broken images is kept"


def test_moving_past_an_empty_image_skips_it_and_nothing_here_completes_it(shapes_dataset,
                                                                           journal):
    ds = shapes_dataset
    sid, second = ds.values("id")[:2]
    ds.set_values("predictions", {sid: fo.Detections(detections=[])}, key_field="id")
    w = nblabel.review(ds, journal=journal)
    assert w.boxes == [] and w.reviewed == 0
    _msg(w, kind="go", delta=1)  # looking ahead is a skip: not a labeled negative
    assert w.reviewed == 0 and w.position == 1
    _msg(w, kind="go", delta=-1)
    _msg(w, kind="done", seq=1, sample_id=sid, seconds=1.0)  # Shift+N: nothing here
    assert w.reviewed == 1 and w.position == 1, "done marks it reviewed and moves on"
    # On an image with pending boxes shown, "done" is refused with the reason.
    assert w.sample_id == second and any(r["status"] == "pending" for r in w.boxes)
    sent: list = []
    w.send = lambda content, buffers=None: sent.append(content)
    _msg(w, kind="done", seq=2, sample_id=second, seconds=1.0)
    assert w.position == 1 and w.reviewed == 1 and "still pending" in w.message
    answer = [c for c in sent if c.get("seq") == 2]
    assert answer and "still pending" in answer[0]["error"], "the browser is told why"
    w.session.flush()
    ds.reload()
    assert "reviewed" in ds[sid].tags and "reviewed" not in ds[second].tags
    # The learning loop trains on completed images only: the empty one, as a negative.
    from nblabel.learning.loop import REVIEWED_TAG
    assert ds.match_tags(REVIEWED_TAG).values("id") == [sid]


def test_leaving_with_every_shown_proposal_decided_completes_the_image(shapes_dataset, journal):
    ds = shapes_dataset
    w = nblabel.review(ds, journal=journal, threshold=0.25)
    sid = w.sample_id
    shown = [b for b in w.boxes if b["confidence"] >= 0.25]
    hidden = [b for b in w.boxes if b["confidence"] < 0.25]
    assert shown and hidden  # the spurious box (0.2) is below the threshold
    _msg(w, kind="go", delta=1)  # nothing decided yet: not complete
    assert w.reviewed == 0
    _msg(w, kind="go", delta=-1)
    for b in shown[:-1]:
        _msg(w, kind="decide", sample_id=sid, keys=[b["key"]], action="accepted")
    _msg(w, kind="go", delta=1)  # one shown proposal still open: not complete
    assert w.reviewed == 0
    _msg(w, kind="go", delta=-1)
    _msg(w, kind="decide", sample_id=sid, keys=[shown[-1]["key"]], action="accepted")
    _msg(w, kind="go", delta=1)
    assert w.reviewed == 1
    w.session.flush()
    ds.reload()
    sample = ds[sid]
    assert "reviewed" in sample.tags
    hidden_ids = {b["key"] for b in hidden}
    assert all(not d.has_field("review") or d["review"] is None
               for d in sample.predictions.detections if d.id in hidden_ids)
    assert len(sample.ground_truth.detections) == len(shown)


def test_edit_add_delete_and_relabel(shapes_dataset, journal):
    w = nblabel.review(shapes_dataset, journal=journal)
    first = w.boxes[0]
    _msg(w, kind="decide", sample_id=w.sample_id, keys=[first["key"]], action="edited",
         box=[10.5, 20.25, 40, 30])
    row = w.boxes[0]
    assert row["status"] == "edited" and row["box"] == [10.5, 20.25, 40, 30]
    assert row["original_box"] == first["original_box"] and row["label"] == first["label"]
    _msg(w, kind="decide", sample_id=w.sample_id, keys=[first["key"]], action="edited",
         label="square")
    assert w.boxes[0]["label"] == "square" and w.boxes[0]["box"] == [10.5, 20.25, 40, 30], \
        "relabelling keeps the edited box"
    _msg(w, kind="add", sample_id=w.sample_id, label="triangle", box=[300, 200, 50, 60])
    added = w.boxes[-1]
    assert added["status"] == "added" and added["box"] == [300, 200, 20, 40], "clipped"
    assert w.selected == added["key"]
    _msg(w, kind="decide", sample_id=w.sample_id, keys=[added["key"]], action="edited",
         box=[100, 100, 10, 10])
    assert w.boxes[-1]["box"] == [100, 100, 10, 10] and w.boxes[-1]["status"] == "added"
    w.session.flush()
    gt = sorted((d.label, d.review) for d in shapes_dataset[w.sample_id].ground_truth.detections)
    assert gt == [("square", "edited"), ("triangle", "added")]
    _msg(w, kind="decide", sample_id=w.sample_id, keys=[added["key"]], action="rejected")
    assert all(b["key"] != added["key"] for b in w.boxes), "deleting a drawn box removes it"
    w.session.flush()
    assert [d.label for d in shapes_dataset[w.sample_id].ground_truth.detections] == ["square"]


def test_undo_and_redo_end_in_the_final_state(shapes_dataset, journal):
    ds = shapes_dataset
    w = nblabel.review(ds, journal=journal)
    sid = w.sample_id
    keys = [b["key"] for b in w.boxes]
    _msg(w, kind="decide", sample_id=sid, keys=[keys[0]], action="accepted")
    _msg(w, kind="decide", sample_id=sid, keys=[keys[0]], action="rejected")
    _msg(w, kind="undo")
    assert w.boxes[0]["status"] == "accepted", "undo restores the previous decision"
    _msg(w, kind="undo")
    assert w.boxes[0]["status"] == "pending"
    _msg(w, kind="undo")
    assert w.message == "nothing to undo"
    _msg(w, kind="redo")
    assert w.boxes[0]["status"] == "accepted"
    w.session.flush()
    dets = {d.id: d for d in ds[sid].predictions.detections}
    assert dets[keys[0]].review == "accepted"
    assert len(ds[sid].ground_truth.detections) == 1
    # Undo on another image brings that image back.
    _msg(w, kind="go", delta=1)
    _msg(w, kind="undo")
    assert w.sample_id == sid and w.boxes[0]["status"] == "pending"
    w.session.flush()
    dets = {d.id: d for d in ds[sid].predictions.detections}
    assert dets[keys[0]].review is None, "FiftyOne ends undone too"
    assert ds[sid].ground_truth.detections == []


def test_threshold_accept_all_is_one_undo_step(shapes_dataset, journal):
    ds = shapes_dataset
    w = nblabel.review(ds, journal=journal, threshold=0.5)
    confs = [b["confidence"] for b in w.boxes]
    _msg(w, kind="accept_all", sample_id=w.sample_id)
    statuses = [b["status"] for b in w.boxes]
    assert statuses == ["accepted" if c >= 0.5 else "pending" for c in confs]
    _msg(w, kind="undo")
    assert all(b["status"] == "pending" for b in w.boxes)


def test_large_image_is_sent_as_preview(shapes_dataset, journal, tmp_path):
    from PIL import Image

    big = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 4000), "gray").save(big, quality=70)
    ds = shapes_dataset
    (sid,) = ds.add_samples([fo.Sample(filepath=str(big), predictions=fo.Detections(detections=[
        fo.Detection(label="circle", bounding_box=[0.5, 0.5, 0.1, 0.1], confidence=0.9)]))])
    w = nblabel.review(ds, journal=journal, queue=[sid])
    assert w.image_preview and (w.image_width, w.image_height) == (6000, 4000)
    assert len(w.image) < big.stat().st_size
    assert w.boxes[0]["box"] == [3000, 2000, 600, 400], "boxes stay in full-size pixels"


def test_instance_masks_are_shown_and_land_in_ground_truth(shapes_dataset, journal):
    import numpy as np

    ds = shapes_dataset
    sid = ds.first().id
    mask = np.zeros((24, 30), dtype=bool)
    mask[4:20, 5:25] = True
    ds.set_values("predictions", {sid: fo.Detections(detections=[
        fo.Detection(label="circle", bounding_box=[0.1, 0.1, 0.3, 0.2], confidence=0.9,
                     mask=mask),
        fo.Detection(label="square", bounding_box=[0.5, 0.5, 0.2, 0.2], confidence=0.8),
    ])}, key_field="id")
    w = nblabel.review(ds, journal=journal)
    with_mask, plain = w.boxes
    assert with_mask["mask"][:8] == b"\x89PNG\r\n\x1a\n" and plain["mask"] is None
    content, buffers = w.prefetcher.payload(w.state, 0)
    masks = content["rows"]["masks"]
    assert list(masks) == ["0"] and buffers[masks["0"]] == with_mask["mask"], \
        "prefetch sends masks as binary buffers"
    _msg(w, kind="decide", sample_id=sid, keys=[with_mask["key"]], action="accepted")
    w.session.flush()
    (gt,) = ds[sid].ground_truth.detections
    assert gt.mask.shape == (24, 30) and (gt.mask > 0).sum() == mask.sum()


def test_image_level_classification_accept_replace_undo(shapes_dataset, journal):
    ds = shapes_dataset
    ids = ds.values("id")
    ds.set_values("predicted_class", {
        sid: fo.Classification(label="indoor", confidence=0.7,
                               scores={"indoor": 0.7, "outdoor": 0.2, "studio": 0.1})
        for sid in ids}, key_field="id")
    w = nblabel.review(ds, journal=journal, classification_field="predicted_class")
    first = w.sample_id
    assert w.image_label["label"] == "indoor" and w.image_label["status"] == "pending"
    assert [t[0] for t in w.image_label["top"]] == ["indoor", "outdoor", "studio"]
    _msg(w, kind="classify", sample_id=first, action="accepted")
    assert w.image_label["status"] == "accepted" and w.image_label["final"] == "indoor"
    for b in w.boxes:
        _msg(w, kind="decide", sample_id=first, keys=[b["key"]], action="accepted")
    assert w.reviewed == 1
    _msg(w, kind="go", delta=1)
    second = w.sample_id
    _msg(w, kind="classify", sample_id=second, action="edited", label="outdoor")
    w.session.flush()
    ds.reload()
    assert ds[first].ground_truth_class.label == "indoor"
    assert ds[first].predicted_class.review == "accepted"
    assert ds[second].ground_truth_class.label == "outdoor"
    assert ds[second].ground_truth_class.review == "edited"
    assert "reviewed" in ds[first].tags and "reviewed" not in ds[second].tags
    _msg(w, kind="undo")
    assert w.image_label["status"] == "pending"
    w.session.flush()
    assert ds[second].ground_truth_class is None and ds[second].predicted_class.review is None


def test_decisions_send_only_the_rows_they_changed(shapes_dataset, journal):
    """Kernel traffic is proportional to the change: a decision answers with its own rows (and
    the next selection), an image shows with all of them; rows travel as binary columns."""
    ds = shapes_dataset
    sid = ds.first().id
    many = [fo.Detection(label="circle", bounding_box=[(i % 40) / 40, (i // 40) / 25, 0.02, 0.03],
                         confidence=0.5 + (i % 50) / 100) for i in range(1000)]
    ds.set_values("predictions", {sid: fo.Detections(detections=many)}, key_field="id")
    w = nblabel.review(ds, queue=[sid, *[s for s in ds.values("id") if s != sid]],
                       journal=journal)
    sent: list[tuple[dict, list]] = []
    w.send = lambda content, buffers=None: sent.append((content, buffers or []))
    keys = [r["key"] for r in w.boxes]
    _msg(w, kind="decide", seq=7, sample_id=sid, keys=keys[:3], action="accepted", seconds=1)
    (rows, buffers), = [(c, b) for c, b in sent if c["kind"] == "rows"]
    assert rows["seq"] == 7 and rows["full"] is False and rows["removed"] == []
    assert rows["rows"]["keys"] == keys[:3], "only the three decided rows"
    assert rows["selected"] == keys[3], "Python chose the next pending box in reading order"
    assert sum(len(b) for b in buffers) < 200, "a few bytes, not the image's 1,000 rows"
    # One undo step brings all three back, again as three rows.
    sent.clear()
    _msg(w, kind="undo", seq=8)
    (rows, _), = [(c, b) for c, b in sent if c["kind"] == "rows"]
    assert sorted(rows["rows"]["keys"]) == sorted(keys[:3]) and rows["seq"] == 8
    assert all(r["status"] == "pending" for r in w.boxes[:3])
    # A message that changes nothing is still answered (the browser waits for each answer).
    sent.clear()
    _msg(w, kind="decide", seq=9, sample_id="another-image", keys=keys[:1], action="accepted")
    (rows, _), = [(c, b) for c, b in sent if c["kind"] == "rows"]
    assert rows["seq"] == 9 and rows["rows"]["n"] == 0
    _msg(w, kind="nonsense", seq=10)
    assert "nonsense" in w.message
    # A new view asks for everything: all 1,000 rows, in one message.
    sent.clear()
    _msg(w, kind="hello")
    full = [c for c, _ in sent if c["kind"] == "rows"]
    assert full[0]["full"] is True and full[0]["rows"]["n"] == 1000


def test_rows_sent_ahead_are_not_sent_again(shapes_dataset, journal):
    """Moving onto an image the browser already has (prefetched, unchanged) sends no rows; if a
    decision changed it since, the rows go again."""
    w = nblabel.review(shapes_dataset, journal=journal)
    w.prefetcher.loader.shutdown(wait=True)  # prefetch by hand below, not in the background
    w.prefetcher.loader = SimpleNamespace(submit=lambda *a: None, shutdown=lambda **k: None)
    sent: list[dict] = []
    w.send = lambda content, buffers=None: sent.append(content)
    queue = w.session.queue
    w.prefetcher.one(1, queue[1])
    assert [c["kind"] for c in sent] == ["prefetch"]
    sent.clear()
    _msg(w, kind="go", delta=1, have=queue[1])
    assert w.sample_id == queue[1]
    assert [c for c in sent if c["kind"] == "rows"] == [], "the browser has these rows"
    assert [r["key"] for r in w.boxes], "Python still knows what the browser shows"
    _msg(w, kind="decide", seq=1, sample_id=queue[1], keys=[w.boxes[0]["key"]],
         action="rejected")
    w.prefetcher.one(0, queue[0])
    _msg(w, kind="decide", seq=2, sample_id=queue[1], keys=[w.boxes[0]["key"]],
         action="accepted")
    sent.clear()
    _msg(w, kind="go", delta=-1, have=queue[0])
    assert [c["kind"] for c in sent if c["kind"] == "rows"] == [], "unchanged: not resent"


def test_the_last_image_says_what_was_skipped_on_the_way(shapes_dataset, journal):
    w = nblabel.review(shapes_dataset, journal=journal, reviewer="kim")
    for _ in range(len(shapes_dataset) - 1):  # skip every image to the last one
        _msg(w, kind="go", delta=1)
    _msg(w, kind="go", delta=1)  # past the last
    assert w.position == len(shapes_dataset) - 1
    assert f"{len(shapes_dataset)} image(s) skipped and still to review" in w.message
    assert "the first at position 1" in w.message
