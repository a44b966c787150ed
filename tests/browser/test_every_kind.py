"""What every labeler expects, in every kind, in real JupyterLab + Chromium: one test over images,
video tracks, keypoints, volume slices and image-level labels (the shared editor:
``js/src/editor/``, ``reviewing/editor/``). A decision the journal refuses is put back with its
reason; the view zooms to 4x and pans; a decision is shown, undone; a class typed in the class
list relabels the selected object; an attribute is set from the keyboard; both land in FiftyOne;
and the answers come within the time limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import eventually
from tests.harness.kinds import KINDS, build, stored_values

#: The kernel refuses the journal's next write for real (SQLite's query_only: as a read-only
#: file), then takes writes again.
REFUSE_NEXT_WRITE = (
    "_append = journal.append_many\n"
    "def _refused_once(*args, **kwargs):\n"
    "    journal.append_many = _append\n"
    "    journal._conn.execute('PRAGMA query_only = ON')\n"
    "    try:\n"
    "        return _append(*args, **kwargs)\n"
    "    finally:\n"
    "        journal._conn.execute('PRAGMA query_only = OFF')\n"
    "journal.append_many = _refused_once\n"
    "print('refusal armed')"
)


def _root(page: Any, key: str) -> str | None:
    return page.locator(".nblabel-root").get_attribute(f"data-{key}")


def _wait(page: Any, js: str, arg: Any = None, timeout: int = 20_000) -> None:
    page.wait_for_function(f"(a) => {{ const r = document.querySelector('.nblabel-root');"
                           f" return r && ({js}); }}", arg=arg, timeout=timeout)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind(kind: str, open_notebook: Any, page: Any, tmp_path: Path) -> None:
    made = build(kind, tmp_path / "data")
    cells = made.cells(str(tmp_path / "journal.sqlite"), attributes={"occluded": "bool"})
    open_notebook(f"every-{kind}.ipynb", [*cells, REFUSE_NEXT_WRITE])
    page.locator(f".{made.root}").wait_for(timeout=120_000)
    _wait(page, "r.dataset.painted || r.dataset.paintedSample", timeout=60_000)
    page.wait_for_function("() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                           ".some((o) => o.textContent.includes('refusal armed'))",
                           timeout=60_000)
    page.evaluate("() => document.querySelector('.nblabel-root').focus()")
    start = int(_root(page, "decided") or 0)

    # 1. A decision the journal refuses: painted, then put back with the named reason.
    page.keyboard.press("a")
    _wait(page, "r.dataset.refused !== undefined && !r.dataset.busy && !r.dataset.saving")
    message = page.locator(".nblabel-root .nblabel-message").inner_text()
    assert "journal.sqlite" in message and "read-only" in message, message
    assert int(_root(page, "decided") or 0) == start, "the refused decision is put back"

    # 2. Zoom to 4x (keys), then pan (a middle-button drag): the view follows.
    for _ in range(16):
        if float(_root(page, "zoom") or 1) >= 3.99:
            break
        page.keyboard.press("+")
    assert float(_root(page, "zoom") or 1) >= 3.99, _root(page, "zoom")
    if kind == "video":  # once the view settles, the frame is drawn at full resolution
        _wait(page, "r.dataset.fullRes === 'true'")
    tx = float(_root(page, "tx") or 0)
    box = page.locator(".nblabel-root canvas").first.bounding_box()
    assert box
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down(button="middle")
    page.mouse.move(cx - 120, cy - 40, steps=4)
    page.mouse.up(button="middle")
    _wait(page, "Math.abs(Number(r.dataset.tx) - a) > 20", arg=tx)
    fit = ".nblabel-fit" if kind == "image" else ".nblabel-btn[data-action=fit]"
    page.locator(f".nblabel-root {fit}").click()  # the toolbar does what the keys do
    _wait(page, "Math.abs(Number(r.dataset.zoom) - 1) < 1e-3")
    page.evaluate("() => document.querySelector('.nblabel-root').focus()")

    # 3. A decision is shown; undo takes it back.
    decided = int(_root(page, "decided") or 0)
    page.keyboard.press("a")
    _wait(page, "Number(r.dataset.decided) > a && !r.dataset.busy && !r.dataset.saving",
          arg=decided)
    after = int(_root(page, "decided") or 0)
    page.keyboard.press("Control+z")
    _wait(page, "Number(r.dataset.decided) < a && !r.dataset.busy && !r.dataset.saving",
          arg=after)

    # 4. A class typed in the class list relabels the selected object.
    page.locator(".nblabel-root .nblabel-new-class").click()
    page.keyboard.type("zebra")
    page.keyboard.press("Enter")
    _wait(page, "[...r.querySelectorAll('.nblabel-class-select option')]"
                ".some((o) => o.value === 'zebra')")
    _wait(page, "!r.dataset.busy && !r.dataset.saving")
    page.evaluate("() => document.querySelector('.nblabel-root').focus()")

    # 5. An attribute from the keyboard: ; focuses the panel, Space ticks "occluded".
    page.keyboard.press(";")
    _wait(page, "document.activeElement?.dataset?.name === 'occluded'")
    page.keyboard.press("Space")
    _wait(page, "!r.dataset.busy && !r.dataset.saving"
                " && r.querySelector('.nblabel-attr[data-name=occluded]')?.dataset.value"
                " === 'true'")

    # 6. The relabel and the attribute are in FiftyOne (images sync in the background).
    eventually(lambda: "zebra" in stored_values(kind, made.dataset, "label"), timeout=30,
               what=f"the typed class in {kind}'s ground truth")
    eventually(lambda: True in stored_values(kind, made.dataset, "occluded"), timeout=30,
               what=f"the attribute in {kind}'s ground truth")
