"""The video, shapes and volume widgets: Python's side and the browser's agree (traits, message
kinds, statuses and actions declared once in each ``js/src/<widget>/types.ts``, keys in its
``keys.json``, shipped under ``nblabel/static/`` and read by Python for the help)."""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import anywidget
import numpy as np
import pytest

from nblabel.core import shapes, track_edits
from nblabel.core.volume import PRESETS, requires, to_display
from nblabel.reviewing import keys
from nblabel.reviewing import shape_widget as sw
from nblabel.reviewing import video_widget as vw
from nblabel.reviewing import volume_widget as vow

JS = Path(__file__).parents[2] / "js" / "src"


@dataclass(frozen=True)
class Side:
    folder: str
    module: ModuleType
    widget: type
    traits: str
    to_python: str
    from_python: str
    received: tuple[str, ...]
    statuses: tuple[str, ...] | None
    actions: str | None
    keymap: Path
    help: tuple[str, str]  # a key and its help, as the help shows them
    mouse: str


SIDES = [
    Side("video", vw, vw.VideoReviewWidget, "VideoTraits", "VideoToPython", "VideoFromPython",
         tuple(vw.HANDLERS), track_edits.STATUSES, None, keys.VIDEO_KEYMAP_PATH,
         ("a", "accept the whole track"), "drag a box"),
    Side("shapes", sw, sw.ShapeReviewWidget, "ShapeTraits", "ShapesToPython",
         "ShapesFromPython", sw.RECEIVED_KINDS, shapes.STATUSES, "ShapeActionName",
         keys.SHAPE_KEYMAP_PATH, ("v", "mark the selected point occluded (or visible again)"),
         "drag a point"),
    Side("volume", vow, vow.VolumeReviewWidget, "VolumeTraits", "VolumeToPython",
         "VolumeFromPython", vow.RECEIVED_KINDS, None, "VolumeActionName",
         keys.VOLUME_KEYMAP_PATH, ("1", "window: soft tissue"), "right-drag (or Alt+drag)"),
]
IDS = [s.folder for s in SIDES]


def _types(side: Side) -> str:
    return (JS / side.folder / "types.ts").read_text()


def _kinds(text: str, type_name: str) -> set[str]:
    start = text.index(f"export type {type_name} =")
    end = text.index(";\n\n", start)
    return set(re.findall(r'kind: "(\w+)"', text[start:end]))


@pytest.mark.parametrize("side", SIDES, ids=IDS)
def test_traits_kinds_statuses_and_actions_match(side: Side) -> None:
    text = _types(side)
    block = re.search(rf"interface {side.traits} \{{([\s\S]*?)\n\}}", text)
    assert block
    declared = set(re.findall(r"^\s+(\w+): ", block.group(1), re.M))
    base = set(anywidget.AnyWidget().traits(sync=True))
    assert set(side.widget.class_traits(sync=True)) - base == declared
    assert set(side.received) == _kinds(text, side.to_python)
    assert set(side.module.SENT_KINDS) == _kinds(text, side.from_python)
    if side.statuses is not None:
        listed = re.search(r"STATUSES = \[([^\]]*)\]", text)
        assert listed and tuple(re.findall(r'"(\w+)"', listed.group(1))) == side.statuses
    if side.actions is not None:
        actions = re.search(rf"{side.actions} = ([^;]*);", text)
        assert actions
        source = Path(side.module.__file__ or "").read_text()
        for name in re.findall(r'"(\w+)"', actions.group(1)):
            assert f'"{name}"' in source, f"Python ignores action {name}"


@pytest.mark.parametrize("side", SIDES, ids=IDS)
def test_keys_shipped_are_the_source_and_make_the_help(side: Side) -> None:
    source = json.loads((JS / side.folder / "keys.json").read_text())
    assert json.loads(side.keymap.read_text()) == source
    rows = dict(keys._help_rows(side.keymap))
    assert rows[side.help[0]] == side.help[1]
    assert side.mouse in rows


def test_shape_and_point_states_are_one_list() -> None:
    assert shapes.STATUSES == shapes.POINT_STATES


def test_volume_presets_are_the_keys_presets() -> None:
    view = (JS / "volume" / "view.ts").read_text()
    order = re.search(r"PRESET_ORDER = \[([^\]]*)\]", view)
    assert order and re.findall(r'"([\w ]+)"', order.group(1)) == list(PRESETS)
    helps = {b["action"]: b["help"]
             for b in json.loads((JS / "volume" / "keys.json").read_text())["bindings"]}
    for i, name in enumerate(PRESETS, 1):
        assert helps[f"preset_{i}"] == f"window: {name}"


def test_volume_wire_format_and_window() -> None:
    kind, data = vow._wire(np.array([[-1000.0, 300.0]], np.float32))
    assert kind == "int16z"  # the planes js/tests/volume.test.ts decodes
    assert list(zlib.decompress(data)) == [0x18, 0x2C, 0xFC, 0x01]
    assert vow._wire(np.array([[0.5]], np.float32))[0] == "float32"
    grey = to_display(np.array([-160.0, 40.0, 240.0]), 40, 400)
    assert grey.tolist() == [0, 128, 255]  # as js/src/volume/window.ts rounds


def test_a_missing_medical_package_says_how_to_install_it() -> None:
    with pytest.raises(ImportError, match=r'pip install "nblabel\[medical\]"'):
        requires("no_such_dicom_reader")
