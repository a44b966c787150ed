"""The review widget's keys, read from the one keymap the browser uses
(``js/src/keymap.json``, shipped as ``nblabel/static/keymap.json``): the help lists here and in
the widget (press ``?``) come from the same file."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from nblabel.reviewing.editor.contract import STATIC

__all__ = [
    "KEYMAP_PATH",
    "VIDEO_KEYMAP_PATH",
    "help_rows",
    "keymap",
    "label_help_rows",
    "markdown_table",
    "shape_help_rows",
    "video_help_rows",
    "volume_help_rows",
]

KEYMAP_PATH = STATIC / "keymap.json"
#: The video widget's keys (``js/src/video/keys.json``).
VIDEO_KEYMAP_PATH = STATIC / "videokeys.json"
#: The volume widget's keys (``js/src/volume/keys.json``).
VOLUME_KEYMAP_PATH = STATIC / "volumekeys.json"
#: The shapes widget's keys (``js/src/shapes/keys.json``).
SHAPE_KEYMAP_PATH = STATIC / "shapekeys.json"
#: The image-level labels widget's keys (``js/src/labels/keys.json``).
LABEL_KEYMAP_PATH = STATIC / "labelkeys.json"
#: The keys every kind but the image widget shares (zoom, class, undo, help:
#: ``js/src/editor/keys.json``), added after each kind's own.
EDITOR_KEYMAP_PATH = STATIC / "editorkeys.json"


@cache
def keymap() -> dict[str, Any]:
    """The keymap: ``{"display", "bindings": [{"action", "keys", "help", "label"?}], "mouse"}``."""
    return dict(json.loads(KEYMAP_PATH.read_text(encoding="utf-8")))


def _keys_label(binding: dict[str, Any]) -> str:
    if "label" in binding:
        return str(binding["label"])
    display = keymap()["display"]
    return " / ".join(display.get(k, k) for k in binding["keys"])


def help_rows() -> tuple[tuple[str, str], ...]:
    """(keys, what they do) for every binding, then the mouse gestures."""
    km = keymap()
    return (*((_keys_label(b), str(b["help"])) for b in km["bindings"]),
            *((str(m["label"]), str(m["help"])) for m in km["mouse"]))


def _help_rows(path: Path) -> tuple[tuple[str, str], ...]:
    """A kind's keys, then the shared ones, as ``Keyset.help`` in js/src/editor/keyset.ts."""
    own = json.loads(path.read_text(encoding="utf-8"))
    shared = json.loads(EDITOR_KEYMAP_PATH.read_text(encoding="utf-8"))
    display = {**shared["display"], **own["display"]}
    return (*((" / ".join(display.get(k, k) for k in b["keys"]), str(b["help"]))
              for b in [*own["bindings"], *shared["bindings"]]),
            *((str(m["label"]), str(m["help"])) for m in [*own["mouse"], *shared["mouse"]]))


def video_help_rows() -> tuple[tuple[str, str], ...]:
    """(keys, what they do) of the video widget, as its help shows them."""
    return _help_rows(VIDEO_KEYMAP_PATH)


def volume_help_rows() -> tuple[tuple[str, str], ...]:
    """(keys, what they do) of the volume widget (DICOM series, NIfTI)."""
    return _help_rows(VOLUME_KEYMAP_PATH)


def shape_help_rows() -> tuple[tuple[str, str], ...]:
    """(keys, what they do) of the shapes widget (keypoints, polylines)."""
    return _help_rows(SHAPE_KEYMAP_PATH)


def label_help_rows() -> tuple[tuple[str, str], ...]:
    """(keys, what they do) of the image-level labels widget."""
    return _help_rows(LABEL_KEYMAP_PATH)


def markdown_table() -> str:
    """The keys as a Markdown table (the docs' keys table, docs/reviewing.md, generated: ``python -m
    nblabel.reviewing.editor.keys``)."""
    lines = ["| keys | action |", "| --- | --- |"]
    lines += [f"| {' / '.join(f'`{k}`' for k in keys.split(' / '))} | {what} |"
              for keys, what in help_rows()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
