"""Python and the browser agree on what crosses between them: the traitlets, the message kinds
in each direction, the row format and the keymap, all declared once in
``js/src/image/types.ts`` and ``js/src/image/keymap.json``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from nblabel.reviewing.editor.keys import KEYMAP_PATH, help_rows
from nblabel.reviewing.image import rows as rowlib
from nblabel.reviewing.image import widget as widget_module
from nblabel.reviewing.image.widget import ReviewWidget

JS = Path(__file__).parents[2] / "js" / "src"
TYPES = (JS / "image" / "types.ts").read_text()


def _block(name: str) -> str:
    m = re.search(rf"(?:interface|type) {name}\b[^{{=]*(?:=\s*)?([\s\S]*?)\n}};?\n", TYPES)
    assert m, f"{name} is not declared in types.ts"
    return m.group(1)


def _kinds(type_name: str) -> set[str]:
    start = TYPES.index(f"export type {type_name} =")
    end = TYPES.index(";\n\n", start)
    return set(re.findall(r'kind: "(\w+)"', TYPES[start:end]))


def test_traits_match_the_declaration():
    declared = set(re.findall(r"^\s+(\w+): ", _block("ModelTraits"), re.M))
    base = set(__import__("anywidget").AnyWidget().traits(sync=True))
    ours = set(ReviewWidget.class_traits(sync=True)) - base
    assert ours == declared


def test_message_kinds_match_the_declaration():
    assert set(widget_module.HANDLERS) == _kinds("ToPython"), "one handler per kind"
    assert set(widget_module.SENT_KINDS) == _kinds("FromPython")
    protocol = (JS / "image" / "protocol.ts").read_text()
    listed = re.search(r"TO_PYTHON_KINDS = \[([^\]]*)\]", protocol)
    assert listed and set(re.findall(r'"(\w+)"', listed.group(1))) == _kinds("ToPython")


def test_row_codes_match_the_declaration():
    assert "STATUSES = CONTRACT.statuses" in TYPES, "the image rows' statuses are the contract's"
    for name in ("FLAG_VISIBLE", "FLAG_FOCUS", "FLAG_PROPOSAL"):
        m = re.search(rf"export const {name} = (\d+);", TYPES)
        assert m and int(m.group(1)) == getattr(rowlib, name)


def test_keymap_shipped_with_the_package_is_the_source():
    assert KEYMAP_PATH.exists(), "run `npm run build`"
    source = json.loads((JS / "image" / "keymap.json").read_text())
    assert json.loads(KEYMAP_PATH.read_text()) == source
    help_ = dict(help_rows())
    assert help_["Ctrl+z"] == "undo" and "Shift+drag" in help_
    assert help_rows() == widget_module.KEYS


def _row(key: str, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "key": key, "proposal_id": key, "label": "cell", "box": [1.5, 2.25, 3.0, 4.0],
        "original_box": [1.0, 2.0, 3.0, 4.0], "original_label": "cell", "confidence": 0.5,
        "status": "pending", "visible": True, "mask": None, "focus": False, "unusable": None}
    base.update(kw)
    return base


def test_rows_encode_column_by_column():
    rows = [_row("a"), _row("b", status="added", proposal_id=None, original_box=None,
                            original_label=None, confidence=None, label="nucleus",
                            mask=b"\x89PNG"),
            _row("c", status="rejected", visible=False, focus=True, unusable="no box")]
    wire, buffers = rowlib.encode(rows, first_buffer=1)
    assert wire["keys"] == ["a", "b", "c"] and wire["labels"] == ["cell", "nucleus"]
    box = np.frombuffer(buffers[0], dtype=np.float32).reshape(3, 4)
    assert box[0].tolist() == [1.5, 2.25, 3.0, 4.0]
    orig = np.frombuffer(buffers[1], dtype=np.float32).reshape(3, 4)
    assert np.isnan(orig[1]).all()
    conf = np.frombuffer(buffers[2], dtype=np.float32)
    assert conf[0] == 0.5 and np.isnan(conf[1])
    codes = np.frombuffer(buffers[3], dtype=np.uint8).reshape(3, 2)
    assert codes[:, 0].tolist() == [0, 4, 2]
    assert codes[:, 1].tolist() == [1 | 4, 1, 2 | 4]
    labels = np.frombuffer(buffers[4], dtype=np.uint16).reshape(3, 2)
    assert labels.tolist() == [[0, 1], [1, 0], [0, 1]]
    assert wire["masks"] == {"1": 6} and buffers[5] == b"\x89PNG"
    assert wire["unusable"] == {"2": "no box"}
    assert [wire[k] for k in ("box", "original_box", "confidence", "codes", "label")] \
        == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("n", [0, 1, 7])
def test_reading_order_walks_bands_left_to_right(n):
    rng = np.random.default_rng(n)
    boxes = [[float(x), float(y), 10.0, 10.0] for x, y in rng.uniform(0, 100, (n, 2))]
    order = rowlib.reading_order(boxes)
    assert sorted(order) == list(range(n))
    keys = [(int((boxes[i][1] + 5) // 10), boxes[i][0]) for i in order]
    assert keys == sorted(keys)


def test_next_pending_is_the_next_shown_pending_box_in_order():
    rows = [_row("a", status="accepted"), _row("b"), _row("c", visible=False), _row("d"),
            _row("e", unusable="bad")]
    assert rowlib.next_pending(rows, "b") == "d"
    assert rowlib.next_pending(rows, "d") == "b"
    assert rowlib.next_pending([_row("a", status="accepted")], "a") == "a"
    assert rowlib.first_selection(rows) == "b"
    assert rowlib.first_selection([*rows, _row("f", focus=True)]) == "f"


def test_docs_keys_table_is_generated_from_the_keymap():
    from nblabel.reviewing.editor.keys import markdown_table

    readme = (Path(__file__).parents[2] / "docs" / "reviewing.md").read_text()
    start = readme.index("<!-- keys:start -->\n") + len("<!-- keys:start -->\n")
    end = readme.index("\n<!-- keys:end -->")
    assert readme[start:end] == markdown_table(), "run: python -m nblabel.reviewing.editor.keys"
