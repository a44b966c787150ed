"""The volume widget's Python side and browser side agree (declared once in
``js/src/volume/types.ts`` and ``js/src/volume/keys.json``)."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import anywidget
import numpy as np

from nblabel.core.volume import PRESETS, to_display
from nblabel.reviewing import volume_widget as vw
from nblabel.reviewing.keys import VOLUME_KEYMAP_PATH, volume_help_rows

JS = Path(__file__).parents[2] / "js" / "src" / "volume"
TYPES = (JS / "types.ts").read_text()


def _kinds(type_name: str) -> set[str]:
    start = TYPES.index(f"export type {type_name} =")
    end = TYPES.index(";\n\n", start)
    return set(re.findall(r'kind: "(\w+)"', TYPES[start:end]))


def test_traits_kinds_and_actions_match():
    block = re.search(r"interface VolumeTraits \{([\s\S]*?)\n\}", TYPES)
    assert block
    declared = set(re.findall(r"^\s+(\w+): ", block.group(1), re.M))
    base = set(anywidget.AnyWidget().traits(sync=True))
    assert set(vw.VolumeReviewWidget.class_traits(sync=True)) - base == declared
    assert set(vw.RECEIVED_KINDS) == _kinds("VolumeToPython")
    assert set(vw.SENT_KINDS) == _kinds("VolumeFromPython")
    actions = re.search(r"VolumeActionName = ([^;]*);", TYPES)
    assert actions
    source = Path(vw.__file__).read_text()
    for name in re.findall(r'"(\w+)"', actions.group(1)):
        assert f'"{name}"' in source, f"Python ignores action {name}"


def test_volume_keys_and_presets_agree():
    keys = json.loads((JS / "keys.json").read_text())
    assert json.loads(VOLUME_KEYMAP_PATH.read_text()) == keys
    view = (JS / "view.ts").read_text()
    order = re.search(r"PRESET_ORDER = \[([^\]]*)\]", view)
    assert order and re.findall(r'"([\w ]+)"', order.group(1)) == list(PRESETS)
    helps = {b["action"]: b["help"] for b in keys["bindings"]}
    for i, name in enumerate(PRESETS, 1):
        assert helps[f"preset_{i}"] == f"window: {name}"
    assert "right-drag (or Alt+drag)" in dict(volume_help_rows())


def test_wire_format_and_window():
    kind, data = vw._wire(np.array([[-1000.0, 300.0]], np.float32))
    assert kind == "int16z"  # the planes js/tests/volume.test.ts decodes
    assert list(zlib.decompress(data)) == [0x18, 0x2C, 0xFC, 0x01]
    kind, _ = vw._wire(np.array([[0.5]], np.float32))
    assert kind == "float32"
    grey = to_display(np.array([-160.0, 40.0, 240.0]), 40, 400)
    assert grey.tolist() == [0, 128, 255]  # as js/src/volume/window.ts rounds


def test_a_missing_medical_package_says_how_to_install_it():
    import pytest

    from nblabel.core.volume import requires

    with pytest.raises(ImportError, match=r'pip install "nblabel\[medical\]"'):
        requires("no_such_dicom_reader")
