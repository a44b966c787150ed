"""Sliced inference, labeling rules, open-vocabulary prompts offline, and small-data training
helpers: behaviour and the errors that name what is wrong."""

import numpy as np
import pytest
from PIL import Image

from nblabel.core.labels import Box, ImageSize, Proposal
from nblabel.learning.smalldata import Labeled, copy_paste, schedule, train_size
from nblabel.sources import (
    CallableSource,
    OpenVocabError,
    OpenVocabSource,
    RuleSource,
    SlicedSource,
    min_size,
    relabel_inside,
)
from nblabel.sources.sliced import merge_tiles, tile_grid


def _dots(size=(1000, 600), centres=((100, 100), (495, 300), (900, 500))):
    """A white image with black 20 px squares at ``centres`` (one straddles tile borders)."""
    a = np.full((size[1], size[0], 3), 255, np.uint8)
    for cx, cy in centres:
        a[cy - 10:cy + 10, cx - 10:cx + 10] = 0
    return Image.fromarray(a), [Box(cx - 10, cy - 10, 20, 20) for cx, cy in centres]


def _dark_boxes(image):
    """A "model": boxes around dark regions of the image it gets (a tile, or the whole)."""
    from scipy import ndimage as ndi

    a = np.asarray(image.convert("L")) < 128
    labels, _ = ndi.label(a)
    out = []
    for sl in ndi.find_objects(labels):
        y, x = sl
        out.append({"label": "dot", "xyxy": [x.start, y.start, x.stop, y.stop],
                    "confidence": 0.9})
    return out


def test_tile_grid_covers_the_image_and_validates():
    tiles = tile_grid(ImageSize(1000, 600), 256, 0.2)
    assert tiles[0] == (0, 0, 256, 256) and tiles[-1] == (744, 344, 256, 256)
    covered = np.zeros((600, 1000), bool)
    for x, y, w, h in tiles:
        covered[y:y + h, x:x + w] = True
    assert covered.all()
    with pytest.raises(ValueError, match="overlap must be in"):
        SlicedSource(CallableSource(_dark_boxes), tile=256, overlap=1.0)
    with pytest.raises(ValueError, match="tile must be at least 8 px"):
        SlicedSource(CallableSource(_dark_boxes), tile=0)


def test_sliced_source_merges_objects_cut_by_tile_borders():
    image, truth = _dots()
    sliced = SlicedSource(CallableSource(_dark_boxes), tile=256, overlap=0.2)
    (props,) = sliced.propose([image])
    assert len(props) == len(truth), [p.box for p in props]
    for t in truth:
        assert max(p.box.iou(t) for p in props) > 0.95, "one whole box per object"
    assert {p.source for p in props} == {sliced.name}


def test_merge_tiles_union_joins_parts_wbf_averages_duplicates():
    whole = Proposal("dot", Box(0, 0, 20, 20), 0.9)
    part = Proposal("dot", Box(14, 0, 6, 20), 0.8)  # IoU 0.3, all of it inside
    (u,) = merge_tiles([whole, part], "union")
    assert u.box == Box(0, 0, 20, 20) and u.confidence == 0.9
    assert len(merge_tiles([whole, part], "wbf")) == 2, "a small part stays apart in WBF"
    with pytest.raises(ValueError, match="merge must be one of"):
        merge_tiles([whole], "mean")


def test_sliced_source_names_the_tile_that_failed():
    calls = []

    def fails_on_second(image):
        calls.append(image.size)
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return []

    image, _ = _dots()
    (err,) = SlicedSource(CallableSource(fails_on_second, "flaky"), tile=256).propose([image])
    assert "tile at x=204, y=0 (256x256)" in str(err) and "out of memory" in str(err)


def test_rules_apply_in_bulk_and_a_failing_rule_is_named():
    def model(image):
        return [{"label": "person", "box": [10, 10, 10, 30], "confidence": 0.8},
                {"label": "car", "box": [0, 0, 60, 60], "confidence": 0.9},
                {"label": "car", "box": [100, 100, 4, 4], "confidence": 0.5}]

    image = Image.new("RGB", (200, 200))
    src = RuleSource(CallableSource(model), [min_size(8),
                                              relabel_inside("person", "car", "driver")])
    (props,) = src.propose([image])
    assert sorted(p.label for p in props) == ["car", "driver"]
    assert {p.source for p in props} == {src.name} and "min_size(8)" in src.name

    def broken(props, image):
        raise KeyError("speed")

    (err,) = RuleSource(CallableSource(model), [broken]).propose([image])
    assert "rule broken failed on a 200x200 image" in str(err) and "speed" in str(err)
    with pytest.raises(TypeError, match="callables"):
        RuleSource(CallableSource(model), ["min_size"])


def test_open_vocabulary_without_its_text_encoder_says_so():
    from ultralytics import YOLOWorld

    model = YOLOWorld("yolov8s-worldv2.yaml")  # built here, no weights downloaded
    with pytest.raises(OpenVocabError, match=r"could not encode the prompts \['nucleus'\].*"
                                             r"text encoder"):
        OpenVocabSource(model, ["nucleus"])
    with pytest.raises(ValueError, match="non-empty names"):
        OpenVocabSource(model, [" "])


def test_copy_paste_adds_objects_without_overlaps(tmp_path):
    image, truth = _dots((128, 128), ((30, 30), (90, 90)))
    path = tmp_path / "a.png"
    image.save(path)
    made = copy_paste([Labeled(path, tuple((0, b) for b in truth))], tmp_path / "out", 5,
                      per_image=(2, 4), seed=1)
    assert len(made) == 5
    for m in made:
        assert len(m.objects) > 2, "pasted objects are labelled"
        boxes = [b for _, b in m.objects]
        assert all(a.iou(b) == 0 for i, a in enumerate(boxes) for b in boxes[i + 1:])
        pixels = np.asarray(Image.open(m.path).convert("L"))
        for b in boxes:  # each label covers a dark object
            crop = pixels[int(b.y):int(b.y2), int(b.x):int(b.x2)]
            assert crop.mean() < 128


def test_schedule_and_training_size():
    assert schedule(10) == {"epochs": 150, "patience": 15}
    assert schedule(300)["epochs"] == 15
    assert train_size([128], [12.0]) == 224, "12 px nuclei reach 20 px"
    assert train_size([640], [50.0]) == 640
    with pytest.raises(ValueError):
        schedule(0)


def test_large_training_images_become_tiles_with_their_boxes(tmp_path):
    from nblabel.learning.smalldata import read_yolo_split, tile_split, write_yolo_labels

    image, truth = _dots((1000, 600))
    (tmp_path / "images" / "train").mkdir(parents=True)
    path = tmp_path / "images" / "train" / "big.png"
    image.save(path)
    write_yolo_labels([Labeled(path, tuple((0, b) for b in truth))], tmp_path / "labels" / "train")
    assert tile_split(tmp_path, "train", 256) == 1
    tiles = read_yolo_split(tmp_path, "train")
    assert len(tiles) == 15 and not path.exists()
    for t in tiles:  # every label covers a dark object of its tile
        px = np.asarray(Image.open(t.path).convert("L"))
        assert all(px[int(b.y):int(b.y2), int(b.x):int(b.x2)].mean() < 128 for _, b in t.objects)
    found = sum(len(t.objects) for t in tiles)
    assert found >= len(truth), "each object is in at least one tile"


def test_union_merge_joins_cut_parts_but_not_small_objects_inside_large_boxes():
    big = Proposal("dot", Box(0, 0, 100, 100), 0.9)
    small = Proposal("dot", Box(40, 40, 10, 10), 0.8)
    assert len(merge_tiles([big, small], "union", cut=[False, False])) == 2
    (joined,) = merge_tiles([big, small], "union", cut=[False, True])
    assert joined.box == big.box
