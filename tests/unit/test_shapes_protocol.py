"""The shapes widget's Python side and browser side agree (declared once in
``js/src/shapes/types.ts`` and ``js/src/shapes/keys.json``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import anywidget

from nblabel.core.shapes import POINT_STATES, STATUSES
from nblabel.reviewing import shape_widget as sw
from nblabel.reviewing.keys import SHAPE_KEYMAP_PATH, shape_help_rows

JS = Path(__file__).parents[2] / "js" / "src" / "shapes"
TYPES = (JS / "types.ts").read_text()


def _kinds(type_name: str) -> set[str]:
    start = TYPES.index(f"export type {type_name} =")
    end = TYPES.index(";\n\n", start)
    return set(re.findall(r'kind: "(\w+)"', TYPES[start:end]))


def test_traits_kinds_and_statuses_match():
    block = re.search(r"interface ShapeTraits \{([\s\S]*?)\n\}", TYPES)
    assert block
    declared = set(re.findall(r"^\s+(\w+): ", block.group(1), re.M))
    base = set(anywidget.AnyWidget().traits(sync=True))
    assert set(sw.ShapeReviewWidget.class_traits(sync=True)) - base == declared
    assert set(sw.RECEIVED_KINDS) == _kinds("ShapesToPython")
    assert set(sw.SENT_KINDS) == _kinds("ShapesFromPython")
    listed = re.search(r"STATUSES = \[([^\]]*)\]", TYPES)
    assert listed and tuple(re.findall(r'"(\w+)"', listed.group(1))) == STATUSES == POINT_STATES
    actions = re.search(r"ShapeActionName = ([^;]*);", TYPES)
    assert actions
    for name in re.findall(r'"(\w+)"', actions.group(1)):
        assert f'"{name}"' in Path(sw.__file__).read_text(), f"Python ignores action {name}"


def test_shape_keys_shipped_are_the_source_and_make_the_help():
    assert json.loads(SHAPE_KEYMAP_PATH.read_text()) == json.loads((JS / "keys.json").read_text())
    rows = dict(shape_help_rows())
    assert rows["v"] == "mark the selected point occluded (or visible again)"
    assert "drag a point" in rows and "Shift+Enter" in rows
