"""Helpers for driving the review widget in the browser and reading FiftyOne back."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def review_cells(dataset_name: str, queue: list[str] | None = None, **kwargs: Any) -> list[str]:
    """A notebook that reviews ``dataset_name``. At threshold 0 unless given: the tests walk every
    box, the shapes fixture's spurious 0.2 one included (the widget's default hides it)."""
    kwargs.setdefault("threshold", 0.0)
    args = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    q = f", queue={queue!r}" if queue is not None else ""
    return [
        "import nblabel, fiftyone as fo\n"
        f"ds = fo.load_dataset({dataset_name!r})\n"
        f"w = nblabel.review(ds{q}, reviewer='browser-tester'{args})\n"
        "w",
    ]


#: JavaScript: ``q(selector)``, querySelector that also looks inside open shadow roots (marimo
#: renders widgets in one).
QUERY_JS = (
    "const q = (sel) => document.querySelector(sel) || [...document.querySelectorAll('*')]"
    ".filter((e) => e.shadowRoot).map((e) => e.shadowRoot.querySelector(sel))"
    ".find(Boolean) || null;"
)


def wait_widget(page: Any) -> None:
    page.locator(".nblabel-root[data-ready='true']").wait_for(timeout=120_000)
    page.wait_for_function(
        f"() => {{ {QUERY_JS} const r = q('.nblabel-root');"
        " return r && r.dataset.paintedSample; }",
        timeout=60_000)


def focus(page: Any) -> None:
    page.locator(".nblabel-progress").click()


def row_selector(which: int | str) -> str:
    """The list row of a box: by its index in the rows (reading order) or by its key."""
    attr = "index" if isinstance(which, int) else "key"
    return f".nblabel-box[data-{attr}='{which}']"


def wait_status(page: Any, which: int | str, status: str, timeout: int = 15_000) -> None:
    """Wait until the box (index or key) shows ``status`` and no decision is on its way."""
    page.wait_for_function(
        f"([sel, s]) => {{ {QUERY_JS} const b = q(sel);"
        " return b && b.dataset.status === s && !q('.nblabel-root').dataset.saving; }",
        arg=[row_selector(which), status], timeout=timeout)


def row_key(page: Any, index: int) -> str:
    """The key (proposal id) of the row at ``index`` (rows come in reading order)."""
    return str(page.locator(row_selector(index)).get_attribute("data-key"))


def to_client(page: Any, x: float, y: float) -> tuple[float, float]:
    """Client (CSS pixel) coordinates of image pixel (x, y) at the current zoom."""
    return tuple(page.evaluate(
        """([x, y]) => {
            const world = document.querySelector('.nblabel-world');
            const r = world.getBoundingClientRect();
            const w = world.offsetWidth, h = world.offsetHeight;
            return [r.left + x * r.width / w, r.top + y * r.height / h];
        }""", [x, y]))


def scale(page: Any) -> float:
    return float(page.locator(".nblabel-root").get_attribute("data-scale"))


def drag(page: Any, start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> None:
    """Drag with the mouse between two image-pixel points."""
    sx, sy = to_client(page, *start)
    ex, ey = to_client(page, *end)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(ex, ey, steps=steps)
    page.mouse.up()


def eventually(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.2)
