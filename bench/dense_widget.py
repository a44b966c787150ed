"""Dense scenes in the review widget: 500, 2,000 and 10,000 boxes per image, in real JupyterLab
and Chromium, side by side with jupyter-bbox-widget at 2,000 boxes.

Per scenario (1920x1080 and 6000x4000 JPEGs with that many proposals each, three images):

- ``frame``: frame time while panning (middle-button drag, real mouse events from Playwright)
  and zooming (wheel steps): the interval between successive animation frames, recorded in the
  page (16.7 ms at 60 Hz; a frame that did not fit shows as 33 ms), p95 over at least 60
  frames; and the main thread's busy time per frame (Chrome's TaskDuration).
- ``tab``: Tab until the new selection is painted, the work only: the key handler plus the frame
  that draws it (from that frame's start until a task posted from it runs), without the idle wait
  for the frame boundary, which no renderer can shorten.
- ``band``: a Shift+drag rubber band over about 200 boxes: from the last mouse move until the
  selection is painted (same rule as Tab).
- ``paint``: the accept key until the decision is painted as on its way (the browser's own
  answer, before Python's), the work only as for Tab: the key handler plus the frame that draws
  it (target 16.7 ms at 10,000 boxes). ``paint_wall``: the same, key to painted, with the idle
  wait for the frame boundary (up to one frame, whatever the work); ``paint_first_frame``: the
  share of decisions painted in the first frame after the key.
- ``accept``: the accept key until Python's answer (the journaled decision) is painted.
- ``next``: the next-image key until the next image and its boxes are painted.
- ``echo``: the same round trip through the kernel with a bare anywidget that only echoes a
  message (no nblabel): the floor under ``accept``.
- jupyter-bbox-widget, same 1080p image and 2,000 boxes: frame time while dragging a box.

Run: ``python bench/dense_widget.py [--quick]``. The last line is the JSON with the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

# The benchmarks' helpers (bench/) and the test harnesses (tests/harness, from the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.harness.devtools import (
    CHROMIUM_ARGS,
    JupyterLab,
    chromium_path,
    open_and_run,
    write_notebook,
)

from common import emit, percentile, print_table, private_fiftyone
from nblabel.demo import synthetic
from widget_latency import bbw_cells, build_dataset

RECORD_START_JS = """
() => {
  window.__frames = [];
  window.__recording = true;
  let last = null;
  const tick = (t) => {
    if (!window.__recording) return;
    if (last !== null) window.__frames.push(t - last);
    last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""

RECORD_STOP_JS = "() => { window.__recording = false; return window.__frames; }"

# Work latency of an interaction: the synchronous handler, then the frame that draws it, from
# that frame's start (rAF timestamp) until a task posted from it runs.
WORK_JS = """
async ([kind, n, arg]) => {
  const root = document.querySelector('.nblabel-root');
  const stage = root.querySelector('.nblabel-stage');
  root.focus();
  const key = (k, extra = {}) => root.dispatchEvent(new KeyboardEvent('keydown',
    {key: k, bubbles: true, cancelable: true, ...extra}));
  const frame = () => new Promise((r) => requestAnimationFrame((ts) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => r([ts, performance.now()]);
    ch.port2.postMessage(0);
  }));
  const out = [];
  for (let i = 0; i < n; i++) {
    await frame();
    await new Promise((r) => setTimeout(r, 5 + (i * 7) % 11));
    let t0, t1;
    if (kind === 'tab') {
      t0 = performance.now();
      key('Tab');
      t1 = performance.now();
    } else if (kind === 'band') {
      const [x0, y0, x1, y1] = arg[i % arg.length];
      const opts = (x, y) => ({clientX: x, clientY: y, bubbles: true, button: 0, shiftKey: true});
      stage.dispatchEvent(new MouseEvent('mousedown', opts(x0, y0)));
      window.dispatchEvent(new MouseEvent('mousemove', opts((x0 + x1) / 2, (y0 + y1) / 2)));
      await frame();
      t0 = performance.now();
      window.dispatchEvent(new MouseEvent('mousemove', opts(x1, y1)));
      t1 = performance.now();
      const [ts, tp] = await frame();
      out.push({work: (t1 - t0) + (tp - ts), multi: Number(root.dataset.multi)});
      window.dispatchEvent(new MouseEvent('mouseup', opts(x1, y1)));
      key('Escape');
      continue;
    }
    const [ts, tp] = await frame();
    out.push({work: (t1 - t0) + (tp - ts), multi: 0});
  }
  return out;
}
"""

# The floor under any answer from the kernel: a bare anywidget that echoes each message.
ECHO_CELLS = [
    "import anywidget\n"
    "class Echo(anywidget.AnyWidget):\n"
    "    _esm = ('export default { render({ model, el }) { el.className = \"echo\"; '\n"
    "            'model.on(\"msg:custom\", () => window.__got && window.__got()); '\n"
    "            'window.__send = (m) => model.send(m); } }')\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.on_msg(lambda w, content, buffers: self.send({'echo': content.get('i')}))\n"
    "Echo()"
]

ECHO_JS = """
async (n) => {
  const out = [];
  for (let i = 0; i < n; i++) {
    const got = new Promise((r) => { window.__got = () => r(performance.now()); });
    const t0 = performance.now();
    window.__send({i});
    out.push((await got) - t0);
    await new Promise((r) => setTimeout(r, 120));
  }
  return out;
}
"""

# Until Python's answer is painted: accept (seq echoed) or next image (new sample painted). For
# accept, also until the decision is painted as on its way (before Python's answer): `paint`.
ROUND_TRIP_JS = """
async ([kind, n, dwell]) => {
  const root = document.querySelector('.nblabel-root');
  root.focus();
  const out = [];
  for (let i = 0; i < n; i++) {
    const prev = root.dataset.paintedSample;
    let k = 'a';
    if (kind === 'next') k = (Math.floor(i / 2) % 2 === 0) ? 'ArrowRight' : 'ArrowLeft';
    let paint = null;
    let frame = null;
    const done = new Promise((resolve) => {
      const h = (e) => {
        if (e.detail.provisional && paint === null) {
          paint = e.detail.t;
          frame = e.detail.frameStart;
        }
        const ok = kind === 'next' ? e.detail.sampleId !== prev
          : e.detail.seq !== null && e.detail.seq !== undefined;
        if (ok) { root.removeEventListener('nblabel:painted', h); resolve(e.detail.t); }
      };
      root.addEventListener('nblabel:painted', h);
    });
    const t0 = performance.now();
    root.dispatchEvent(new KeyboardEvent('keydown', {key: k, bubbles: true, cancelable: true}));
    const t1 = performance.now();
    const t = await done;
    out.push({journaled: t - t0, wall: paint === null ? null : paint - t0,
              paint: paint === null ? null : (t1 - t0) + (paint - frame),
              first: paint === null ? null : frame - t1 < 17.5});
    await new Promise((r) => setTimeout(r, dwell));
  }
  return out;
}
"""


def make_dense(out: Path, n_images: int, size: tuple[int, int], n_boxes: int,
               seed: int) -> list[dict[str, Any]]:
    """Dense scenes (``nblabel.demo.synthetic.make_dense``) in this module's item form."""
    return [{"path": str(path), "boxes": [b.as_list() for b in boxes], "size": size}
            for path, boxes in synthetic.make_dense(out, n_images, size, n_boxes, seed=seed)]


def _cells(dataset: str) -> list[str]:
    return ["import nblabel, fiftyone as fo\n"
            f"w = nblabel.review(fo.load_dataset({dataset!r}), reviewer='bench')\nw"]


def _drag_frames(page: Any, start: tuple[float, float], steps: int, button: str,
                 cdp: Any) -> tuple[list[float], float]:
    """Frame intervals and main-thread ms per frame while the mouse drags ``steps`` moves."""
    page.mouse.move(*start)
    page.mouse.down(button=button)  # type: ignore[arg-type]
    page.evaluate(RECORD_START_JS)
    before = _task_seconds(cdp)
    x, y = start
    for i in range(steps):
        dx = 4 if (i // 25) % 2 == 0 else -4
        x, y = x + dx, y + dx / 2
        page.mouse.move(x, y)
        page.wait_for_timeout(8)
    frames = page.evaluate(RECORD_STOP_JS)
    busy = (_task_seconds(cdp) - before) * 1000 / max(len(frames), 1)
    page.mouse.up(button=button)  # type: ignore[arg-type]
    return frames, busy


def _zoom_frames(page: Any, at: tuple[float, float], steps: int, cdp: Any
                 ) -> tuple[list[float], float]:
    page.mouse.move(*at)
    page.evaluate(RECORD_START_JS)
    before = _task_seconds(cdp)
    for i in range(steps):
        page.mouse.wheel(0, -40 if (i // 15) % 2 == 0 else 40)
        page.wait_for_timeout(8)
    frames = page.evaluate(RECORD_STOP_JS)
    busy = (_task_seconds(cdp) - before) * 1000 / max(len(frames), 1)
    return frames, busy


def _task_seconds(cdp: Any) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


def _bands(page: Any, items: list[dict[str, Any]], target: int = 200) -> list[list[float]]:
    """Client rectangles that each hold about ``target`` whole boxes of the first image."""
    import numpy as np

    w, h = items[0]["size"]
    boxes = np.asarray(items[0]["boxes"])
    side = (w * h * target / len(boxes)) ** 0.5 * 1.08
    out = []
    rect = page.evaluate("""() => { const w = document.querySelector('.nblabel-world');
        const r = w.getBoundingClientRect(); return [r.left, r.top, r.width / w.offsetWidth]; }""")
    left, top, k = rect
    for fx, fy in [(0.1, 0.1), (0.5, 0.2), (0.3, 0.5), (0.6, 0.55), (0.2, 0.3)]:
        x0, y0 = fx * (w - side * 1.4), fy * (h - side)
        x1, y1 = x0 + side * 1.4, y0 + side / 1.4 * 1.0
        out.append([left + x0 * k, top + y0 * k, left + x1 * k, top + y1 * k])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="500 and 10,000 boxes only")
    parser.add_argument("--only", help="one scenario, e.g. 1080p-10000")
    args = parser.parse_args()
    counts = [500, 2000, 10000] if not args.quick else [500, 10000]
    sizes = {"1080p": (1920, 1080), "6000x4000": (6000, 4000)}
    if args.only:  # e.g. --only 1080p-10000
        sname, n_only = args.only.rsplit("-", 1)
        counts, sizes = [int(n_only)], {sname: sizes[sname]}
    if args.only:  # e.g. --only 1080p-10000
        sname, n_only = args.only.rsplit("-", 1)
        counts, sizes = [int(n_only)], {sname: sizes[sname]}
    n_frames = 70 if args.quick else 100
    n_keys = 20 if args.quick else 40
    work, mongod = private_fiftyone("dense")
    lab = JupyterLab(work / "lab")
    figures: dict[str, Any] = {"frame_p95_ms": {}, "quick": args.quick}
    table = []
    try:
        t = time.monotonic()
        data: dict[str, list[dict[str, Any]]] = {}
        for sname, size in sizes.items():
            for n in counts:
                name = f"dense-{sname}-{n}"
                data[name] = make_dense(work / name, 3, size, n, seed=n)
                build_dataset(name, data[name])
        bbw_items = data.get("dense-1080p-2000") or make_dense(work / "bbw", 3, (1920, 1080),
                                                               2000, seed=2000)
        print(f"data: {len(data)} scenarios in {time.monotonic() - t:.0f} s", flush=True)
        lab.start()
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            all_tab, all_accept, all_next, all_paint = [], [], [], []
            all_wall: list[float] = []
            all_first: list[bool] = []
            for name, items in data.items():
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")
                write_notebook(lab.root / f"{name}.ipynb", _cells(name))
                open_and_run(page, lab.url, f"{name}.ipynb")
                page.wait_for_function(
                    "() => { const r = document.querySelector('.nblabel-root');"
                    " return r && r.dataset.paintedSample; }", timeout=180_000)
                page.wait_for_timeout(2000)  # prefetches
                stage = page.locator(".nblabel-stage").bounding_box()
                centre = (stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2)
                pan, pan_busy = _drag_frames(page, centre, n_frames, "middle", cdp)
                zoom, zoom_busy = _zoom_frames(page, centre, n_frames, cdp)
                page.keyboard.press("0")  # fit again
                page.wait_for_timeout(300)
                tab = [r["work"] for r in page.evaluate(WORK_JS, ["tab", n_keys, None])]
                bands = page.evaluate(WORK_JS, ["band", 10, _bands(page, items)])
                trips = page.evaluate(ROUND_TRIP_JS, ["accept", n_keys, 120])
                accept = [r["journaled"] for r in trips]
                paint = [r["paint"] for r in trips if r["paint"] is not None]
                wall = [r["wall"] for r in trips if r["wall"] is not None]
                first = [r["first"] for r in trips if r["first"] is not None]
                nxt = [r["journaled"] for r in page.evaluate(ROUND_TRIP_JS, ["next", 12, 400])]
                page.close()
                frames = pan + zoom
                row = {
                    "frame_p95": percentile(frames, 95), "pan_p95": percentile(pan, 95),
                    "zoom_p95": percentile(zoom, 95), "busy": (pan_busy + zoom_busy) / 2,
                    "tab_p95": percentile(tab, 95),
                    "band_p95": percentile([b["work"] for b in bands], 95),
                    "band_boxes": sorted(b["multi"] for b in bands)[len(bands) // 2],
                    "accept_p95": percentile(accept, 95), "next_p95": percentile(nxt, 95),
                    "paint_p95": percentile(paint, 95) if paint else float("nan"),
                    "paint_wall_p95": percentile(wall, 95) if wall else float("nan"),
                    "paint_first_frame": sum(first) / len(first) if first else float("nan"),
                }
                figures[name] = {k: round(v, 1) for k, v in row.items()}
                n = int(name.rsplit("-", 1)[1])
                key = f"{name.split('-')[1]}_{n}"
                figures["frame_p95_ms"][key] = round(row["frame_p95"], 1)
                if n == max(counts):
                    all_tab += tab
                    all_accept += accept
                    all_paint += paint
                    all_wall += wall
                    all_first += first
                    all_next += nxt
                table.append((name, len(frames), *(round(row[k], 1) for k in (
                    "pan_p95", "zoom_p95", "busy", "tab_p95", "band_p95", "band_boxes",
                    "paint_p95", "accept_p95", "next_p95"))))
                print(table[-1], flush=True)
            # The kernel round trip itself (no nblabel), the floor of `accept`.
            page = browser.new_page()
            write_notebook(lab.root / "echo.ipynb", ECHO_CELLS)
            open_and_run(page, lab.url, "echo.ipynb")
            page.wait_for_function("() => window.__send", timeout=120_000)
            echo = page.evaluate(ECHO_JS, n_keys)
            page.close()
            # jupyter-bbox-widget: drag one of its 2,000 boxes.
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            write_notebook(lab.root / "bbw.ipynb", bbw_cells(bbw_items))
            open_and_run(page, lab.url, "bbw.ipynb")
            page.wait_for_function(
                "() => document.querySelectorAll('.jp-OutputArea-output svg rect').length > 1000",
                timeout=180_000)
            page.wait_for_timeout(1000)
            rect = page.locator(".jp-OutputArea-output svg rect.movable").nth(500).bounding_box()
            start = (rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
            bbw, bbw_busy = _drag_frames(page, start, n_frames, "left", cdp)
            page.close()
            browser.close()
    finally:
        lab.stop()
        mongod.stop()
    print()
    print_table(["scenario", "frames", "pan p95", "zoom p95", "busy ms/frame", "tab p95",
                 "band p95", "band boxes", "paint p95", "accept p95", "next p95"], table)
    print(f"a bare anywidget echo through the kernel (the floor of accept): p50 "
          f"{percentile(echo, 50):.1f} ms, p95 {percentile(echo, 95):.1f} ms")
    print(f"jupyter-bbox-widget, 2,000 boxes, dragging a box: frame p95 "
          f"{percentile(bbw, 95):.1f} ms, main thread {bbw_busy:.1f} ms/frame")
    figures.update({
        "tab_p95_ms": round(percentile(all_tab, 95), 1),
        "accept_paint_p95_ms": round(percentile(all_paint, 95), 1) if all_paint else None,
        "accept_paint_wall_p95_ms": round(percentile(all_wall, 95), 1) if all_wall else None,
        "accept_paint_first_frame": (round(sum(all_first) / len(all_first), 3)
                                     if all_first else None),
        "accept_p95_ms": round(percentile(all_accept, 95), 1),
        "next_p95_ms": round(percentile(all_next, 95), 1),
        "bbw_frame_p95_ms_2000": round(percentile(bbw, 95), 1),
        "bbw_busy_ms_2000": round(bbw_busy, 1),
        "echo_p50_ms": round(percentile(echo, 50), 1),
        "echo_p95_ms": round(percentile(echo, 95), 1),
    })
    emit(figures)


if __name__ == "__main__":
    main()
