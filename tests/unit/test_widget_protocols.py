"""The video, shapes and volume widgets: Python's side and the browser's agree (traits, message
kinds and actions declared once in each ``js/src/<kind>/types.ts``, keys in its ``keys.json`` and
the shared ``js/src/editor/keys.json``, constants in ``js/src/editor/contract.json``, shipped
under ``nblabel/static/`` and read by Python)."""

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

from nblabel.core import labels, shapes, track_edits
from nblabel.core.volume import PRESETS, requires, to_display
from nblabel.reviewing.editor import keys
from nblabel.reviewing.editor.base import EditorWidget
from nblabel.reviewing.editor.contract import CONTRACT_PATH, contract, media_window
from nblabel.reviewing.image.widget import ReviewWidget
from nblabel.reviewing.labels import widget as lw
from nblabel.reviewing.shapes import widget as sw
from nblabel.reviewing.video import widget as vw
from nblabel.reviewing.volume import widget as vow

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
    actions: str | None
    keymap: Path
    help: tuple[str, str]  # a key and its help, as the help shows them
    mouse: str


SIDES = [
    Side("video", vw, vw.VideoReviewWidget, "VideoTraits", "VideoToPython", "VideoFromPython",
         tuple(vw.HANDLERS), "TrackAction", keys.VIDEO_KEYMAP_PATH,
         ("a", "accept the whole track"), "drag a box"),
    Side("shapes", sw, sw.ShapeReviewWidget, "ShapeTraits", "ShapesToPython",
         "ShapesFromPython", sw.RECEIVED_KINDS, "ShapeActionName",
         keys.SHAPE_KEYMAP_PATH, ("v", "mark the selected point occluded (or visible again)"),
         "drag a point"),
    Side("volume", vow, vow.VolumeReviewWidget, "VolumeTraits", "VolumeToPython",
         "VolumeFromPython", vow.RECEIVED_KINDS, "VolumeActionName",
         keys.VOLUME_KEYMAP_PATH, ("1", "window: soft tissue"), "right-drag (or Alt+drag)"),
]
SIDES.append(Side("labels", lw, lw.LabelReviewWidget, "LabelTraits", "LabelsToPython",
                   "LabelsFromPython", lw.RECEIVED_KINDS, "LabelActionName",
                   keys.LABEL_KEYMAP_PATH, ("Shift+A", "accept every pending label at or above the "
                                                 "threshold"), "click a label"))
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
    assert {"message", "selected", "classes"} <= declared, "the editor's traits, in every kind"
    assert set(side.received) == _kinds(text, side.to_python)
    assert set(side.module.SENT_KINDS) == _kinds(text, side.from_python)
    assert "STATUSES = [" not in text, "statuses are the contract's, not the kind's"
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
    # The shared keys (zoom, class, undo, help) are in every kind's help, defined once.
    assert rows["+ / ="].startswith("zoom in") and rows["?"] == "show this help"
    assert "Ctrl+wheel" in rows
    own = {a for b in source["bindings"] for a in [b["action"]]}
    assert not own & {"undo", "redo", "help", "zoom_in", "fit"}


def test_shape_and_point_states_are_one_list() -> None:
    assert shapes.STATUSES == shapes.POINT_STATES == track_edits.STATUSES == labels.STATUSES


def test_the_contract_is_one_file_both_sides_read() -> None:
    source = json.loads((JS / "editor" / "contract.json").read_text())
    assert json.loads(CONTRACT_PATH.read_text()) == source == contract()
    assert tuple(source["statuses"]) == labels.STATUSES
    assert len(source["colours"]) == len(source["statuses"])
    assert media_window("video").ahead == source["media"]["video"]["ahead"]
    # No kind declares its own copy of what the contract holds.
    for path in JS.rglob("*.ts"):
        text = path.read_text()
        assert "STATUS_COLOUR" not in text, path
        assert not re.search(r"const (BEHIND|AHEAD|KEEP) = \d", text), path
    for path in (JS.parents[1] / "src" / "nblabel" / "reviewing").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^(CHUNK|BEHIND|AHEAD|MAX_SIDE)\b.*= *\d", text, re.M), path
        assert '"object"' not in text and '"lesion"' not in text, path


def test_every_widget_is_one_editor_widget() -> None:
    """The base widget is the only class that subclasses anywidget's."""
    for widget in (ReviewWidget, vw.VideoReviewWidget, sw.ShapeReviewWidget,
                   vow.VolumeReviewWidget, lw.LabelReviewWidget):
        assert issubclass(widget, EditorWidget)
        assert anywidget.AnyWidget not in widget.__bases__
    package = JS.parents[1] / "src" / "nblabel"
    subclassing = [p.name for p in package.rglob("*.py")
                   if re.search(r"class \w+\(anywidget\.AnyWidget\)", p.read_text())]
    assert subclassing == ["base.py"]
    assert "\"object\"" not in (JS / "image" / "widget.ts").read_text()


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
