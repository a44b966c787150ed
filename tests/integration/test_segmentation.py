"""Interactive segmentation with the offline segmenter (GrabCut): prompts and their errors,
quality by simulated clicks on generated shapes and the real coins photo (true masks from the
documented method of nblabel.demo.real), masks in decisions and FiftyOne, bulk masks."""

import uuid

import fiftyone as fo
import numpy as np
import pytest
from PIL import Image

from nblabel.core.images import decode_mask
from nblabel.core.labels import Box, Decision, ImageSize
from nblabel.demo.real import coins
from nblabel.demo.synthetic import make_shapes, shape_mask
from nblabel.reviewing.editor.decisions import mask_of
from nblabel.segmentation import (
    GrabCutSegmenter,
    Prompt,
    SegmentationError,
    mask_label,
    masks_from_boxes,
)
from nblabel.segmentation.evaluate import noc, simulate


def test_prompts_outside_the_image_or_empty_are_named():
    image = Image.new("RGB", (100, 80))
    seg = GrabCutSegmenter()
    with pytest.raises(SegmentationError, match=r"click at \(120, 5\) is outside the 100x80"):
        seg.segment(image, Prompt(points=((120, 5, True),)))
    with pytest.raises(SegmentationError, match="zero size"):
        seg.segment(image, Prompt(box=Box(10, 10, 0, 5)))
    with pytest.raises(SegmentationError, match="outside the 100x80 image"):
        seg.segment(image, Prompt(box=Box(200, 10, 5, 5)))
    with pytest.raises(SegmentationError, match="at least one positive click"):
        seg.segment(image, Prompt(points=((5, 5, False),)))
    with pytest.raises(SegmentationError, match="grabcut returned an empty mask"):
        mask_label(np.zeros((80, 100), bool), "grabcut")


def test_offline_noc90_on_generated_shapes_and_real_coins(tmp_path):
    """NoC@90 (clicks only) at most 3 on average, the issue's target; a box alone is close."""
    seg = GrabCutSegmenter()
    nocs, after_box = [], []
    for img in make_shapes(tmp_path, 4, seed=5, max_objects=3, min_side=40):
        image = Image.open(img.path).convert("RGB")
        for i, (_, box) in enumerate(img.objects):
            truth = shape_mask(img, i)
            if truth.sum() < 400:
                continue
            nocs.append(noc(simulate(seg, image, truth, max_clicks=10), 0.9, max_clicks=10))
            after_box.append(simulate(seg, image, truth, box=box, max_clicks=1)[0])
    assert len(nocs) >= 5 and np.mean(nocs) <= 3, nocs
    assert np.mean(after_box) >= 0.8, after_box
    real = coins()
    image = Image.fromarray(real.pixels)
    coin_nocs = [noc(simulate(seg, image, real.mask(i), max_clicks=10), 0.9, max_clicks=10)
                 for i in range(0, 24, 6)]
    assert np.mean(coin_nocs) <= 3, coin_nocs


def test_a_decision_with_a_mask_lands_in_fiftyone(coins_photo, journal):
    import nblabel

    ds, real = coins_photo
    try:
        image = Image.fromarray(real.pixels)
        mask = GrabCutSegmenter().segment(image, Prompt(box=real.boxes[2]))
        box, png = mask_label(mask)
        d = Decision.add("s", ImageSize(384, 303), "coin", box, mask=png)
        assert Decision.from_dict(d.to_dict()).mask == png, "masks survive the journal"
        w = nblabel.review(ds, journal=journal, classes=["coin"], assist=False)
        w.session.add(w.state, "coin", box, mask=png)
        w.session.flush()
        (det,) = ds.first().ground_truth.detections
        assert det.mask is not None and det.mask.shape == (round(box.h), round(box.w))
        assert (det.mask > 0).sum() == decode_mask(png).sum()
        w.close()
    finally:
        ds.delete()


def test_masks_from_boxes_in_bulk_resume_and_report_errors(tmp_path):
    real = coins()
    good = tmp_path / "coins.png"
    Image.fromarray(real.pixels).save(good)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    size = real.size
    dets = fo.Detections(detections=[
        fo.Detection(label="coin", bounding_box=b.to_relative(size)) for b in real.boxes[:6]])
    ds = fo.Dataset(f"bulk-{uuid.uuid4().hex[:8]}")
    ds.add_samples([fo.Sample(filepath=str(good), ground_truth=dets),
                    fo.Sample(filepath=str(broken), ground_truth=dets.copy())])
    try:
        report = masks_from_boxes(ds, GrabCutSegmenter(), progress=False)
        assert report.masks == 6 and report.images == 1
        (bad_id,) = report.errors
        assert "broken.png" in report.errors[bad_id]
        first = ds.select(ds.first().id).first()
        for d, i in zip(first.ground_truth.detections, range(6), strict=True):
            truth = real.mask(i)[int(real.boxes[i].y):int(real.boxes[i].y2),
                                 int(real.boxes[i].x):int(real.boxes[i].x2)]
            inter = np.logical_and(d.mask > 0, truth).sum()
            assert inter / np.logical_or(d.mask > 0, truth).sum() > 0.85
        again = masks_from_boxes(ds, GrabCutSegmenter(), progress=False)
        assert again.masks == 0 and again.skipped == 6, "a rerun resumes: done boxes skipped"
    finally:
        ds.delete()


@pytest.fixture
def masked_shapes(tmp_path):
    """Generated shapes whose reviewed truth carries each shape's true mask."""
    import fiftyone as fo

    images = make_shapes(tmp_path / "img", 8, seed=21, max_objects=3, min_side=30)
    ds = fo.Dataset(f"masks-{uuid.uuid4().hex[:8]}")
    samples = []
    for img in images:
        dets = []
        for i, (label, _box) in enumerate(img.objects):
            full = shape_mask(img, i)
            if not full.any():
                continue
            b, png = mask_label(full)
            dets.append(fo.Detection(label=label, bounding_box=b.to_relative(img.size),
                                     mask=decode_mask(png)))
        samples.append(fo.Sample(filepath=str(img.path), tags=["reviewed"],
                                 ground_truth=fo.Detections(detections=dets)))
    ds.add_samples(samples, progress=False)
    yield ds, images
    ds.delete()


def test_coco_export_with_masks_reads_back_exactly(masked_shapes, tmp_path):
    from pycocotools.coco import COCO

    from nblabel.curation.export import export_reviewed

    ds, _ = masked_shapes
    coco = COCO(str(export_reviewed(ds, tmp_path / "coco", "coco")))
    names = {im["file_name"]: im["id"] for im in coco.loadImgs(coco.getImgIds())}
    checked = 0
    for sample in ds:
        anns = coco.loadAnns(coco.getAnnIds(imgIds=names[sample.filepath.split("/")[-1]]))
        for det in sample.ground_truth.detections:
            ann = min(anns, key=lambda a: abs(a["bbox"][0] - det.bounding_box[0] * 320))
            decoded = coco.annToMask(ann)
            assert ann["area"] == float(decoded.sum()) == float((det.mask > 0).sum())
            checked += 1
    assert checked >= 8


def test_yolo_seg_export_trains_a_segmentation_model(masked_shapes, tmp_path):
    from nblabel.curation.export import export_reviewed
    from nblabel.learning import train_ultralytics

    ds, _ = masked_shapes
    data = export_reviewed(ds, tmp_path / "yolo", "yolo-seg")
    label_file = next((tmp_path / "yolo" / "labels" / "train").glob("*.txt"))
    first = label_file.read_text().splitlines()[0].split()
    assert len(first) >= 7 and len(first) % 2 == 1, "class and at least 3 points"
    metrics: dict[str, float] = {}
    weights = train_ultralytics(data, tmp_path / "seg.pt", model="yolov8n-seg.yaml", epochs=1,
                                imgsz=160, batch=4, metrics_out=metrics)
    assert weights.exists() and "map50" in metrics
    # The trained weights as FastSAM (any ultralytics segmentation model segments everything):
    # one pass per image, however many clicks; each answer a whole-image mask or a named error.
    from nblabel.segmentation import FastSAMSegmenter

    seg = FastSAMSegmenter(weights, imgsz=160, conf=0.001, name="seg (1 epoch)")
    image = Image.open(ds.first().filepath).convert("RGB")
    for x in (20, 60, 100):
        try:
            mask = seg.segment(image, Prompt(points=((x, 50, True),)), key="a")
            assert mask.shape == (image.height, image.width) and mask.any()
        except SegmentationError as exc:
            assert "FastSAM found no segment" in str(exc)
    assert seg.runs == 1, "everything is segmented once per image"


def test_sam_family_encodes_each_image_once_and_runs_the_decoder_per_click(tmp_path):
    """MobileSAM built with random weights (nothing downloaded): masks of the image's size;
    the encoder runs once per image, also when switching back to an image prepared before."""
    from ultralytics.models.sam.build import build_mobile_sam

    from nblabel.segmentation import SAMSegmenter

    seg = SAMSegmenter(build_mobile_sam(), imgsz=512, name="mobile_sam (random)")
    encoded = []
    original = seg.predictor.get_im_features
    seg.predictor.get_im_features = lambda im: encoded.append(1) or original(im)
    a = Image.fromarray(coins().pixels)
    b = Image.new("RGB", (200, 150), (90, 120, 30))
    seg.prepare(a, "a")
    seg.prepare(b, "b")
    for image, key in ((a, "a"), (b, "b"), (a, "a")):
        mask = seg.segment(image, Prompt(box=Box(20, 20, 60, 50), points=((40, 40, True),)), key)
        assert mask.shape == (image.height, image.width) and mask.dtype == bool
    assert len(encoded) == 2, "one encoding per image"
    with pytest.raises(SegmentationError, match="click at"):
        seg.segment(a, Prompt(points=((999, 5, True),)), "a")


def test_fastsam_picks_the_innermost_segment_under_each_click():
    """The pick from FastSAM's segments: the smallest segment under a positive click, never
    one holding a negative click; a box alone takes the best match; nothing fits: an error."""
    from nblabel.segmentation.fastsam import pick_mask

    masks = np.zeros((3, 40, 60), bool)
    masks[0, :, :] = True               # the background segment
    masks[1, 5:30, 5:40] = True         # a table
    masks[2, 10:20, 10:20] = True       # a cup on it
    assert (pick_mask(masks, Prompt(points=((15, 15, True),))) == masks[2]).all()
    assert (pick_mask(masks, Prompt(points=((30, 25, True),))) == masks[1]).all()
    # Crossing segments under one click: the smaller, unless it holds the negative click.
    cross = np.zeros((2, 40, 60), bool)
    cross[0, 10:20, 10:30] = True
    cross[1, 5:25, 15:22] = True
    assert (pick_mask(cross, Prompt(points=((18, 15, True),))) == cross[1]).all()
    assert (pick_mask(cross, Prompt(points=((18, 15, True), (18, 7, False)))) == cross[0]).all()
    both = pick_mask(masks, Prompt(points=((15, 15, True), (35, 25, True))))
    assert (both == masks[1]).all()
    assert (pick_mask(masks, Prompt(box=Box(9, 9, 12, 12))) == masks[2]).all()
    with pytest.raises(SegmentationError, match="no segment under the click"):
        pick_mask(masks[1:], Prompt(points=((55, 35, True),)))
    with pytest.raises(SegmentationError, match="no segment on this image"):
        pick_mask(np.zeros((0, 40, 60), bool), Prompt(points=((1, 1, True),)))


def test_missing_sam_weights_say_so(tmp_path):
    """Weights that cannot be loaded: an error naming them (a name that is no ultralytics
    asset, so that nothing is ever downloaded, even on a machine with network)."""
    from nblabel.segmentation import SAMSegmenter

    missing = str(tmp_path / "missing-sam-weights.pt")
    with pytest.raises(SegmentationError, match=r"cannot load the segmenter '.*missing-sam"):
        SAMSegmenter(missing)
    from nblabel.segmentation import FastSAMSegmenter

    with pytest.raises(SegmentationError, match=r"cannot load the segmenter '.*missing-sam"):
        FastSAMSegmenter(missing)


def test_widget_click_to_mask_messages_and_bad_prompts(coins_photo, journal):
    """The messages the browser sends: a mask comes back as a draft, a bad prompt gets a
    message naming it and no mask, accepting with no draft says so, and nothing is lost."""
    import nblabel

    ds, real = coins_photo
    try:
        w = nblabel.review(ds, journal=journal, classes=["coin"], assist=False)
        sent = []
        w.send = lambda content, buffers=None: sent.append((content, buffers))

        def msg(**content):
            w.dispatch(content)

        msg(kind="accept_mask", seq=1, sample_id=w.sample_id, label="coin", seconds=1.0)
        assert "no mask to accept" in w.message
        msg(kind="segment", sample_id=w.sample_id, req=1, box=[10, 10, 0, 5], points=[])
        (content, buffers), = [s for s in sent if s[0].get("kind") == "mask"]
        assert content["error"] and "zero size" in content["error"] and buffers == []
        assert "no mask" in w.message
        b = real.boxes[4]
        msg(kind="segment", sample_id=w.sample_id, req=2, box=None,
            points=[[b.x + b.w / 2, b.y + b.h / 2, True]])
        content, buffers = [s for s in sent if s[0].get("kind") == "mask"][-1]
        assert content["req"] == 2 and content["error"] is None and buffers[0][:4] == b"\x89PNG"
        mbox = Box(*content["box"])
        assert mbox.iou(b) > 0.8
        msg(kind="accept_mask", seq=2, sample_id=w.sample_id, label="coin", seconds=2.0)
        (row,) = w.boxes
        assert row["status"] == "added" and row["mask"] is not None
        msg(kind="undo", seq=3)
        assert w.boxes == [], "one undo takes the masked object back"
        w.close()
    finally:
        ds.delete()


def test_brush_and_eraser_strokes_edit_a_mask_one_undo_each(coins_photo, journal):
    import nblabel

    ds, real = coins_photo
    try:
        w = nblabel.review(ds, journal=journal, classes=["coin"], assist=False)
        w.send = lambda content, buffers=None: None

        def msg(**content):
            w.dispatch(content)

        b = real.boxes[4]
        msg(kind="segment", sample_id=w.sample_id, req=1, box=None,
            points=[[b.x + b.w / 2, b.y + b.h / 2, True]])
        msg(kind="accept_mask", seq=1, sample_id=w.sample_id, label="coin", seconds=1.0)
        (row,) = w.boxes
        key, area = row["key"], decode_mask(row["mask"]).sum()
        # A stroke to the right of the coin: the mask grows and the box follows it.
        stroke = [[b.x2 - 2, b.y + b.h / 2], [b.x2 + 20, b.y + b.h / 2]]
        msg(kind="paint", seq=2, sample_id=w.sample_id, key=key, stroke=stroke, radius=4,
            erase=False)
        (row,) = w.boxes
        assert row["key"] == key and decode_mask(row["mask"]).sum() > area
        assert row["box"][0] + row["box"][2] >= b.x2 + 20
        grown = decode_mask(row["mask"]).sum()
        msg(kind="paint", seq=3, sample_id=w.sample_id, key=key,
            stroke=[[b.x + b.w / 2, b.y + 2], [b.x + b.w / 2, b.y2 - 2]], radius=3, erase=True)
        (row,) = w.boxes
        assert decode_mask(row["mask"]).sum() < grown, "the eraser takes pixels away"
        msg(kind="undo", seq=4)
        (row,) = w.boxes
        assert decode_mask(row["mask"]).sum() == grown, "one undo per stroke"
        msg(kind="paint", seq=5, sample_id=w.sample_id, key="nope", stroke=[[1, 1]], radius=2,
            erase=False)
        assert "select a box first" in w.message
        w.session.flush()
        (det,) = ds.first().ground_truth.detections
        assert (det.mask > 0).sum() == grown
        w.close()
    finally:
        ds.delete()


def test_mask_edits_on_proposals_land_for_the_whole_team(coins_photo, tmp_path):
    """A brush stroke on a proposal's mask is an edit carrying the mask: shown, one undo step,
    synced to the ground truth, and kept there when another reviewer's sync rebuilds the
    merged state (the vote carries it). Moving or relabelling a masked box keeps its mask,
    cut to the new box."""
    import nblabel
    from nblabel.store.journal import DecisionJournal

    ds, real = coins_photo
    try:
        sample = ds.first()
        dets = []
        for i in (2, 4):
            b, png = mask_label(real.mask(i))
            dets.append(fo.Detection(label="coin", bounding_box=b.to_relative(real.size),
                                     mask=decode_mask(png), confidence=0.9))
        sample["predictions"] = fo.Detections(detections=dets)
        sample.save()
        pid = dets[1].id
        b = real.boxes[4]
        with DecisionJournal(tmp_path / "a.sqlite") as ja, \
                DecisionJournal(tmp_path / "b.sqlite") as jb:
            wa = nblabel.review(ds, journal=ja, reviewer="a", assist=False, claims=False)
            wa.send = lambda content, buffers=None: None
            area = int(real.mask(4).sum())
            stroke = [[b.x2 - 2, b.y + b.h / 2], [b.x2 + 20, b.y + b.h / 2]]
            wa.dispatch(dict(kind="paint", seq=1, sample_id=wa.sample_id, key=pid,
                              stroke=stroke, radius=4, erase=False))
            row = next(r for r in wa.boxes if r["key"] == pid)
            painted = int(decode_mask(row["mask"]).sum())
            assert row["status"] == "edited" and painted > area
            assert row["box"][0] + row["box"][2] >= b.x2 + 20, "the box follows the mask"
            wa.session.flush()
            det = next(d for d in ds.first().ground_truth.detections if d.proposal_id == pid)
            assert int((det.mask > 0).sum()) == painted
            # Reviewer b accepts the other coin: b's sync rebuilds the merged ground truth.
            wb = nblabel.review(ds, journal=jb, reviewer="b", assist=False, claims=False)
            wb.decide(dets[0].id, "accepted")
            wb.session.flush()
            gt = {d.proposal_id: d for d in ds.first().ground_truth.detections}
            assert set(gt) == {dets[0].id, pid}
            assert int((gt[pid].mask > 0).sum()) == painted, "a's mask edit survives b's sync"
            wb.close()
            wa.dispatch(dict(kind="undo", seq=2))
            row = next(r for r in wa.boxes if r["key"] == pid)
            assert row["status"] == "pending" and int(decode_mask(row["mask"]).sum()) == area
            # Relabel keeps the mask; moving the box cuts it to the new box.
            wa.decide(pid, "edited", label="dime")
            assert mask_of(wa.state, wa.session.decisions(wa.sample_id), pid).sum() == area
            right_half = Box(b.x + b.w / 2, b.y, b.w / 2 + 10, b.h)
            wa.decide(pid, "edited", box=right_half)
            kept = mask_of(wa.state, wa.session.decisions(wa.sample_id), pid)
            assert 0 < kept.sum() < area and not kept[:, :int(b.x + b.w / 2)].any()
            wa.close()
    finally:
        ds.delete()


def test_polygon_editing_of_a_mask(coins_photo, journal):
    """g: Python sends the mask's outline (few corners, close to the mask), the edited polygon
    comes back and replaces the mask's largest part (one undo step); a box without a mask
    starts from its corners; too few corners or no box get a message, nothing is lost."""
    import nblabel
    from nblabel.core.masks import editable_polygon, fill_polygon

    ds, real = coins_photo
    try:
        mask = real.mask(4)
        poly = editable_polygon(mask)
        assert 8 <= len(poly) <= 100
        back = fill_polygon(poly, real.size)
        assert np.logical_and(back, mask).sum() / np.logical_or(back, mask).sum() > 0.9

        w = nblabel.review(ds, journal=journal, classes=["coin"], assist=False)
        sent = []
        w.send = lambda content, buffers=None: sent.append(content)

        def msg(**content):
            w.dispatch(content)

        b = real.boxes[4]
        msg(kind="segment", sample_id=w.sample_id, req=1, box=[b.x, b.y, b.w, b.h], points=[])
        msg(kind="accept_mask", seq=1, sample_id=w.sample_id, label="coin", seconds=1.0)
        (row,) = w.boxes
        key = row["key"]
        msg(kind="polygon", sample_id=w.sample_id, key=key)
        reply = [s for s in sent if s.get("kind") == "polygon"][-1]
        assert reply["error"] is None and reply["key"] == key and len(reply["points"]) >= 8
        # Pull one corner 15 px out to the right: the mask grows there, the box follows.
        pts = [list(p) for p in reply["points"]]
        i = max(range(len(pts)), key=lambda k: pts[k][0])
        pts[i][0] += 15
        before = decode_mask(row["mask"]).sum()
        msg(kind="set_polygon", seq=2, sample_id=w.sample_id, key=key, points=pts)
        (row,) = w.boxes
        assert row["status"] == "added" and decode_mask(row["mask"]).sum() > before
        assert row["box"][0] + row["box"][2] >= b.x2 + 10
        msg(kind="undo", seq=3)
        assert decode_mask(w.boxes[0]["mask"]).sum() == before, "one undo per polygon edit"
        msg(kind="set_polygon", seq=4, sample_id=w.sample_id, key=key, points=pts[:2])
        assert "3 corners" in w.message
        msg(kind="polygon", sample_id=w.sample_id, key="nope")
        assert [s for s in sent if s.get("kind") == "polygon"][-1]["error"]
        # A drawn box without a mask: its corners start the polygon.
        msg(kind="add", seq=5, sample_id=w.sample_id, label="coin", box=[5, 5, 20, 10],
            seconds=1.0)
        drawn = next(r for r in w.boxes if r["key"] != key)
        msg(kind="polygon", sample_id=w.sample_id, key=drawn["key"])
        corners = [s for s in sent if s.get("kind") == "polygon"][-1]["points"]
        assert corners == [[5, 5], [25, 5], [25, 15], [5, 15]]
        w.close()
    finally:
        ds.delete()
