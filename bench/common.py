"""Shared helpers for the benchmarks: argument parsing, tables and the closing JSON line."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The repository root: the test harnesses (tests/harness, not in the installed package) are
#: imported from it.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.harness.devtools import Mongod  # noqa: E402


def parse_args(description: str, steps_only: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a smaller run, under 60 s")
    if steps_only:
        parser.add_argument("--steps-only", action="store_true",
                            help="only the widget's steps in Chromium")
    return parser.parse_args()


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), by linear interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def emit(figures: dict[str, Any]) -> None:
    """The last line of every benchmark: its figures as one JSON object."""
    print(json.dumps(figures, sort_keys=True))


def private_fiftyone(prefix: str) -> tuple[Path, Mongod]:
    """A work folder and a private mongod, with FiftyOne (not yet imported) pointed at it and
    ultralytics kept offline. Stop the mongod when done."""
    work = Path(tempfile.mkdtemp(prefix=f"nblabel-bench-{prefix}-"))
    mongod = Mongod(work)
    os.environ.update({
        "FIFTYONE_DATABASE_URI": mongod.start(),
        "FIFTYONE_DATABASE_NAME": f"nblabel-bench-{prefix}",
        "FIFTYONE_DO_NOT_TRACK": "true",
        "FIFTYONE_DATABASE_VALIDATION": "false",
        "FIFTYONE_SHOW_PROGRESS_BARS": "false",
        "NBLABEL_HOME": str(work / "home"),
        "YOLO_OFFLINE": "1",
        "YOLO_VERBOSE": "False",
    })
    return work, mongod


#: Steps through a widget in the page: a key press, then wait for the target to be painted
#: and one more animation frame (composited); ``[selector, key, data field to step, n,
#: dwell ms]``. Returns each step's milliseconds; ``window.__waited`` lists the steps whose
#: target was not painted at once (not yet in the browser).
STEP_JS = """
async ([selector, key, field, n, dwell]) => {
  const root = document.querySelector(selector);
  root.focus();
  const out = [];
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  window.__waited = [];
  for (let i = 0; i < n; i++) {
    const target = String(Number(root.dataset[field]) + 1);
    const t0 = performance.now();
    root.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
    if (root.dataset.painted !== target) window.__waited.push(i);
    while (root.dataset.painted !== target && performance.now() - t0 < 5000) await frame();
    await frame();
    out.push(performance.now() - t0);
    const rest = dwell - (performance.now() - t0);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  }
  return out;
}
"""


def steps_in_chromium(work: Path, cell: str, selector: str, first: str, key: str, field: str,
                      n: int, dwell: float = 40.0, settle_ms: int = 2000, zooms: Sequence[float]
                      = (1.0,)) -> dict[float, tuple[list[float], int]]:
    """Open a notebook of one ``cell`` (showing a widget) in real JupyterLab + headless
    Chromium, wait for ``selector``'s ``data-painted`` to be ``first`` and ``settle_ms`` more
    (what is sent ahead arrives), then, at each zoom of ``zooms`` (the widget's ``+`` key until
    its ``data-zoom`` reaches it), step ``n`` times with ``key`` (see :data:`STEP_JS`). Returns,
    by zoom, the steps' milliseconds and how many found their target not yet in the browser."""
    from playwright.sync_api import sync_playwright
    from tests.harness.devtools import (
        CHROMIUM_ARGS,
        JupyterLab,
        chromium_path,
        open_and_run,
        write_notebook,
    )

    lab = JupyterLab(work / "lab")
    lab.start()
    try:
        write_notebook(lab.root / "bench.ipynb", [cell])
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_and_run(page, lab.url, "bench.ipynb")
            page.wait_for_function(f"() => document.querySelector({selector!r})"
                                   f"?.dataset.painted === {first!r}", timeout=120_000)
            page.wait_for_timeout(settle_ms)
            out: dict[float, tuple[list[float], int]] = {}
            for zoom in zooms:
                page.evaluate(ZOOM_JS, [selector, zoom])
                page.wait_for_timeout(settle_ms if zoom > 1 else 0)
                steps = page.evaluate(STEP_JS, [selector, key, field, n, dwell])
                out[zoom] = (list(steps), len(page.evaluate("window.__waited || []")))
            browser.close()
    finally:
        lab.stop()
    return out


#: Zoom a widget with its ``+`` key until its ``data-zoom`` reaches ``[selector, zoom]``.
ZOOM_JS = """
async ([selector, zoom]) => {
  const root = document.querySelector(selector);
  root.focus();
  for (let i = 0; i < 20 && Number(root.dataset.zoom || 1) < zoom - 1e-3; i++) {
    root.dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true}));
    await new Promise((r) => requestAnimationFrame(() => r()));
  }
  return Number(root.dataset.zoom || 1);
}
"""
