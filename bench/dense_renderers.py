"""Which renderer for dense scenes? The measurement that chose nblabel's (docs/reviewing.md).

One page in real Chromium (the flags the tests use: software rendering, no GPU), a 1920x1080
stage, 10,000 boxes (and 2,000) on a 6000x4000 image, pan steps of a few pixels as a reviewer
drags. Per technique, the frame time: the interval between successive animation frames while the
view moves one step per frame (16.7 ms at 60 Hz; a frame that did not fit shows as 33 ms).

- ``svg_keyed``: one SVG ``<rect>`` per box, built once; pan/zoom is a CSS transform of the group
  (nothing per box touched).
- ``canvas_redraw``: a stage-sized 2D canvas redrawn from the boxes each frame (culled to the view,
  batched into one path per style).
- ``canvas_cached``: boxes drawn once into a canvas that moves with the image (CSS transform);
  redrawn only when the gesture ends (the view settled) or boxes change.

The main thread's busy time per frame (Chrome's ``TaskDuration`` over the run, per frame: script,
style, layout and paint recording) tells the techniques apart where headless frame intervals
do not. And the cost of a new image: from the boxes in memory until they are painted (median of 5).

Run: ``python bench/dense_renderers.py``. The last line is the JSON with p50/p95 per technique.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The benchmarks' helpers (bench/) and the test harnesses (tests/harness, from the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.harness.devtools import CHROMIUM_ARGS, chromium_path

from common import emit, percentile

PAGE = """
<html><body style="margin:0"><div id="stage" style="position:relative;width:1920px;height:1000px;
overflow:hidden;background:#333"><div id="world" style="position:absolute;left:0;top:0;
transform-origin:0 0"></div></div></body></html>
"""

SETUP_JS = """
([technique, n]) => {
  const t0 = performance.now();
  const W = 6000, H = 4000;
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const boxes = [];
  for (let i = 0; i < n; i++) {
    const w = 10 + rnd() * 50, h = 10 + rnd() * 50;
    boxes.push([rnd() * (W - w), rnd() * (H - h), w, h, i % 8]);
  }
  const colours = ['#e6194b','#3cb44b','#4363d8','#f58231','#911eb4','#42d4f4','#f032e6','#bfef45'];
  const stage = document.getElementById('stage');
  const world = document.getElementById('world');
  world.style.width = W + 'px'; world.style.height = H + 'px';
  const img = document.createElement('canvas');
  img.width = 2560; img.height = 1707;
  img.style.cssText = 'position:absolute;left:0;top:0;width:100%;height:100%';
  const g = img.getContext('2d');
  const grad = g.createLinearGradient(0, 0, 2560, 1707);
  grad.addColorStop(0, '#4a6'); grad.addColorStop(1, '#246');
  g.fillStyle = grad; g.fillRect(0, 0, 2560, 1707);
  world.appendChild(img);
  const view = {s: 1920 / W, tx: 0, ty: 0};
  let draw = () => {};
  if (technique === 'svg_keyed') {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.style.cssText = 'position:absolute;left:0;top:0;width:100%;height:100%;overflow:visible';
    for (const [x, y, w, h, c] of boxes) {
      const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
      r.setAttribute('x', x); r.setAttribute('y', y); r.setAttribute('width', w);
      r.setAttribute('height', h); r.setAttribute('fill', 'none');
      r.setAttribute('stroke', colours[c]); r.setAttribute('stroke-width', 1);
      r.setAttribute('vector-effect', 'non-scaling-stroke');
      svg.appendChild(r);
    }
    world.appendChild(svg);
    draw = () => {};
  } else if (technique === 'canvas_redraw') {
    const cv = document.createElement('canvas');
    cv.width = 1920; cv.height = 1000;
    cv.style.cssText = 'position:absolute;left:0;top:0';
    stage.appendChild(cv);
    const ctx = cv.getContext('2d');
    draw = () => {
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, 1920, 1000);
      const paths = colours.map(() => new Path2D());
      const x0 = -view.tx / view.s, y0 = -view.ty / view.s;
      const x1 = x0 + 1920 / view.s, y1 = y0 + 1000 / view.s;
      for (const [x, y, w, h, c] of boxes) {
        if (x > x1 || y > y1 || x + w < x0 || y + h < y0) continue;
        const sx = Math.round(x * view.s + view.tx) + 0.5;
        const sy = Math.round(y * view.s + view.ty) + 0.5;
        paths[c].rect(sx, sy, Math.round(w * view.s), Math.round(h * view.s));
      }
      ctx.lineWidth = 1;
      paths.forEach((p, i) => { ctx.strokeStyle = colours[i]; ctx.stroke(p); });
    };
  } else {
    const cv = document.createElement('canvas');
    cv.width = Math.round(W * view.s); cv.height = Math.round(H * view.s);
    cv.style.cssText = 'position:absolute;left:0;top:0;width:100%;height:100%';
    world.appendChild(cv);
    const ctx = cv.getContext('2d');
    const paths = colours.map(() => new Path2D());
    for (const [x, y, w, h, c] of boxes) {
      paths[c].rect(x * view.s, y * view.s, w * view.s, h * view.s);
    }
    paths.forEach((p, i) => { ctx.strokeStyle = colours[i]; ctx.stroke(p); });
  }
  const apply = () => {
    world.style.transform = `translate(${view.tx}px, ${view.ty}px) scale(${view.s})`;
    draw();
  };
  apply();
  window.bench = {view, apply};
  return new Promise((r) => requestAnimationFrame(() => {
    const ch = new MessageChannel(); ch.port1.onmessage = () => r(performance.now() - t0);
    ch.port2.postMessage(0);
  }));
}
"""

PAN_JS = """
async (frames) => {
  // Drive the view from requestAnimationFrame, as a drag does: one step per frame. The frame
  // time is the interval between successive frames (16.7 ms at 60 Hz; a frame that took too
  // long shows as 33 ms or more), so raster and compositing work off the main thread counts.
  const {view, apply} = window.bench;
  return await new Promise((resolve) => {
    const out = [];
    let last = null, i = 0;
    const tick = (t) => {
      if (last !== null) out.push(t - last);
      last = t;
      if (out.length >= frames) { resolve(out); return; }
      view.tx += (i % 40 < 20 ? 3 : -3); view.ty += (i % 30 < 15 ? 2 : -2);
      if (i % 10 === 5) { const k = i % 20 < 10 ? 1.05 : 1 / 1.05; view.s *= k; }
      i++;
      apply();
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}
"""


def _task_seconds(cdp: object) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]  # type: ignore[attr-defined]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


def main() -> None:
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, float]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for n in (2000, 10000):
            for technique in ("svg_keyed", "canvas_redraw", "canvas_cached"):
                page = browser.new_page(viewport={"width": 1920, "height": 1000})
                page.set_content(PAGE)
                builds = [page.evaluate(SETUP_JS, [technique, n])]
                for _ in range(4):  # a new image: everything built again
                    page.set_content(PAGE)
                    builds.append(page.evaluate(SETUP_JS, [technique, n]))
                page.evaluate(PAN_JS, 10)  # warm up
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")
                before = _task_seconds(cdp)
                times = page.evaluate(PAN_JS, 120)
                busy_ms = (_task_seconds(cdp) - before) * 1000 / 120
                page.close()
                key = f"{technique}_{n}"
                results[key] = {"p50": round(percentile(times, 50), 1),
                                "p95": round(percentile(times, 95), 1),
                                "busy_ms": round(busy_ms, 2),
                                "build_ms": round(sorted(builds)[len(builds) // 2], 1)}
                print(f"{key:>22}: frame p50 {results[key]['p50']:6.1f} ms  "
                      f"p95 {results[key]['p95']:6.1f} ms  main thread {busy_ms:5.2f} ms/frame  "
                      f"new image built and painted {results[key]['build_ms']:6.1f} ms")
        browser.close()
    emit(results)


if __name__ == "__main__":
    main()
