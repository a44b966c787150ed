"""The label check's rule, one image at a time: each kind of error is found and a confirmed
label is not suspected."""

import pytest

from nblabel.core.label_check import check_image, image_error

BOX = (10.0, 10.0, 40.0, 40.0)
OTHER = (100.0, 100.0, 30.0, 30.0)


def test_a_label_the_model_confirms_is_not_suspect():
    (s,) = check_image([("cat", BOX)], [("cat", BOX, 0.9)])
    assert s.kind == "" and s.error == pytest.approx(0.01)
    assert image_error([s]) < 0.05


def test_each_kind_of_error_is_named_and_scored():
    wrong_class, = check_image([("dog", BOX)], [("cat", BOX, 0.9)])
    assert wrong_class.kind == "class" and wrong_class.error > 0.7
    # With per-class scores, the class error is the model's preference over the given class.
    unsure, = check_image([("dog", BOX)], [("cat", BOX, 0.6)],
                          scores=[{"cat": 0.6, "dog": 0.4}])
    assert unsure.kind == "class" and unsure.error == pytest.approx(0.2)
    shifted = (BOX[0] + 20, BOX[1], BOX[2], BOX[3])  # IoU 1/3
    placed, = check_image([("cat", shifted)], [("cat", BOX, 0.9)])
    assert placed.kind == "placed" and 0.3 < placed.error < 0.6
    labels = [("cat", BOX), ("cat", OTHER)]
    spurious = check_image(labels, [("cat", BOX, 0.8)])[1]
    assert spurious.kind == "spurious" and spurious.error == pytest.approx(0.6 * 0.8)
    found = check_image([("cat", BOX)], [("cat", BOX, 0.9), ("dog", OTHER, 0.7),
                                         ("dog", (200, 10, 20, 20), 0.1)])
    assert [s.kind for s in found] == ["", "missing"]  # the 0.1 one is under the threshold
    assert found[1].label_index is None and found[1].label == "dog"
    assert found[1].error == pytest.approx(0.7)
    assert image_error(found) == pytest.approx(1 - (1 - 0.01) * (1 - 0.7))


def test_a_duplicate_prediction_of_a_labeled_object_is_not_a_missing_label():
    near = (BOX[0] + 2, BOX[1] + 2, BOX[2], BOX[3])
    sus = check_image([("cat", BOX)], [("cat", BOX, 0.9), ("cat", near, 0.8)])
    assert [s.kind for s in sus] == [""]
