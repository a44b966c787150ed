"""The video widget's Python side and browser side agree (declared once in
``js/src/video/types.ts`` and ``js/src/video/keys.json``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import anywidget

from nblabel.core.track_edits import STATUSES
from nblabel.reviewing import video_widget as vw
from nblabel.reviewing.keys import VIDEO_KEYMAP_PATH, video_help_rows

JS = Path(__file__).parents[2] / "js" / "src" / "video"
TYPES = (JS / "types.ts").read_text()


def _kinds(type_name: str) -> set[str]:
    start = TYPES.index(f"export type {type_name} =")
    end = TYPES.index(";\n\n", start)
    return set(re.findall(r'kind: "(\w+)"', TYPES[start:end]))


def test_traits_kinds_and_statuses_match():
    block = re.search(r"interface VideoTraits \{([\s\S]*?)\n\}", TYPES)
    assert block
    declared = set(re.findall(r"^\s+(\w+): ", block.group(1), re.M))
    base = set(anywidget.AnyWidget().traits(sync=True))
    assert set(vw.VideoReviewWidget.class_traits(sync=True)) - base == declared
    assert set(vw.HANDLERS) == _kinds("VideoToPython")
    assert set(vw.SENT_KINDS) == _kinds("VideoFromPython")
    listed = re.search(r"TRACK_STATUSES = \[([^\]]*)\]", TYPES)
    assert listed and tuple(re.findall(r'"(\w+)"', listed.group(1))) == STATUSES


def test_video_keys_shipped_are_the_source_and_make_the_help():
    assert json.loads(VIDEO_KEYMAP_PATH.read_text()) == json.loads((JS / "keys.json").read_text())
    rows = dict(video_help_rows())
    assert rows["a"] == "accept the whole track"
    assert "Space" in rows and "drag a box" in rows
