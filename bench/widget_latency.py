"""Next-image latency of the review widget in real Chromium, side by side with jupyter-bbox-widget.

Latency: from the key press (or, for jupyter-bbox-widget, the click on its Skip button, which is
how it moves on) until the next image *and its boxes* are on screen: the image decoded, the next
animation frame rendered, and a task posted from that frame run (it runs once the frame has been
drawn). Measured in the page with ``performance.now()``, the same way for both widgets, after a
dwell of a few hundred milliseconds on each image (a reviewer looks at the image before moving
on).

Scenarios, all in one JupyterLab, one after the other:

- nblabel, 1920x1080 JPEGs with 50 proposals each, with prefetch (the default) and without;
- nblabel, 6000x4000 JPEGs with 50 proposals (sent as a 2560 px preview);
- jupyter-bbox-widget showing the same 1080p images and boxes through its own API: its
  ``on_skip`` callback sets the next ``image`` path and ``bboxes`` (read from memory, no
  FiftyOne query, which favours it).

Run: ``python bench/widget_latency.py [--quick]``. The last line is the JSON with the figures.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

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

from common import emit, median, parse_args, percentile, print_table, private_fiftyone

NBLABEL_NAV_JS = """
async ([n, dwell]) => {
  const root = document.querySelector('.nblabel-root');
  root.focus();
  const out = [];
  for (let i = 0; i < n; i++) {
    const prev = root.dataset.paintedSample;
    const done = new Promise((resolve) => {
      const h = (e) => {
        if (e.detail.sampleId !== prev) {
          root.removeEventListener('nblabel:painted', h);
          resolve(e.detail.t);
        }
      };
      root.addEventListener('nblabel:painted', h);
    });
    const t0 = performance.now();
    root.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));
    out.push((await done) - t0);
    await new Promise((r) => setTimeout(r, dwell));
  }
  return out;
}
"""

BBW_NAV_JS = """
async ([n, dwell]) => {
  const host = document.querySelector('.jp-OutputArea-output img').closest('.jp-OutputArea-output');
  const skip = [...host.querySelectorAll('button')].find((b) => /skip/i.test(b.textContent));
  // The same "painted" rule as nblabel's: the next frame, then a task posted from it.
  const nextPaint = () => new Promise((r) => requestAnimationFrame(() => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => r();
    ch.port2.postMessage(0);
  }));
  const out = [];
  for (let i = 0; i < n; i++) {
    const img = host.querySelector('img');
    const prev = img.getAttribute('src');
    const done = new Promise((resolve) => {
      const obs = new MutationObserver(async () => {
        const cur = host.querySelector('img');
        if (cur.getAttribute('src') && cur.getAttribute('src') !== prev) {
          obs.disconnect();
          await cur.decode().catch(() => {});
          await nextPaint();
          resolve(performance.now());
        }
      });
      obs.observe(host, {attributes: true, subtree: true, attributeFilter: ['src'],
                         childList: true});
    });
    const t0 = performance.now();
    skip.click();
    out.push((await done) - t0);
    await new Promise((r) => setTimeout(r, dwell));
  }
  return out;
}
"""


def make_images(out: Path, n: int, size: tuple[int, int], boxes: int, seed: int) -> list[dict]:
    """JPEGs with texture and shapes, and ``boxes`` random boxes (pixels) for each."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageOps

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    w, h = size
    items = []
    for i in range(n):
        noise = Image.effect_noise((w, h), 40)
        c1 = tuple(int(v) for v in rng.integers(0, 255, 3))
        c2 = tuple(int(v) for v in rng.integers(0, 255, 3))
        img = ImageOps.colorize(noise, c1, c2)  # type: ignore[arg-type]
        draw = ImageDraw.Draw(img)
        bxs = []
        for _ in range(boxes):
            bw, bh = rng.uniform(0.02, 0.15) * w, rng.uniform(0.02, 0.15) * h
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            draw.rectangle([x, y, x + bw, y + bh], outline=c2, width=max(2, w // 600))
            bxs.append([round(x, 1), round(y, 1), round(bw, 1), round(bh, 1)])
        path = out / f"img_{i:04d}.jpg"
        img.save(path, quality=85)
        items.append({"path": str(path), "boxes": bxs, "size": size})
    return items


def build_dataset(name: str, items: list[dict]) -> list[str]:
    import fiftyone as fo

    ds = fo.Dataset(name)
    samples = []
    for it in items:
        w, h = it["size"]
        dets = [fo.Detection(label=["circle", "square", "triangle"][k % 3],
                             bounding_box=[x / w, y / h, bw / w, bh / h],
                             confidence=0.3 + 0.7 * ((k * 37) % 100) / 100)
                for k, (x, y, bw, bh) in enumerate(it["boxes"])]
        samples.append(fo.Sample(filepath=it["path"], predictions=fo.Detections(detections=dets)))
    return list(ds.add_samples(samples, progress=False))


def nblabel_cells(dataset: str, prefetch: int) -> list[str]:
    return [
        "import nblabel, fiftyone as fo\n"
        f"ds = fo.load_dataset({dataset!r})\n"
        f"w = nblabel.review(ds, reviewer='bench', prefetch={prefetch})\n"
        "w"
    ]


def bbw_cells(items: list[dict]) -> list[str]:
    spec = [{"path": it["path"], "bboxes": [
        {"x": b[0], "y": b[1], "width": b[2], "height": b[3],
         "label": ["circle", "square", "triangle"][k % 3]} for k, b in enumerate(it["boxes"])]}
        for it in items]
    return [
        "import json\nfrom jupyter_bbox_widget import BBoxWidget\n"
        f"items = json.loads({json.dumps(spec)!r})\n"
        "state = {'i': 0}\n"
        "w = BBoxWidget(image=items[0]['path'], classes=['circle', 'square', 'triangle'],\n"
        "               bboxes=items[0]['bboxes'])\n"
        "@w.on_skip\n"
        "def _next():\n"
        "    state['i'] = min(state['i'] + 1, len(items) - 1)\n"
        "    with w.hold_sync():\n"
        "        w.image = items[state['i']]['path']\n"
        "        w.bboxes = items[state['i']]['bboxes']\n"
        "w"
    ]


def main() -> None:
    args = parse_args(__doc__ or "")
    n_nav = 20 if args.quick else 60
    n_large = 8 if args.quick else 52
    dwell = 250 if args.quick else 400
    work, mongod = private_fiftyone("latency")
    lab = JupyterLab(work / "lab")
    try:
        t = time.monotonic()
        hd = make_images(work / "hd", n_nav + 1, (1920, 1080), 50, seed=1)
        big = make_images(work / "big", n_large + 1, (6000, 4000), 50, seed=2)
        build_dataset("bench-hd", hd)
        build_dataset("bench-big", big)
        print(f"data: {len(hd)} 1080p + {len(big)} 6000x4000 images in "
              f"{time.monotonic() - t:.0f} s", flush=True)
        lab.start()
        from playwright.sync_api import sync_playwright

        results: dict[str, list[float]] = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            scenarios = [
                ("nblabel_1080p", nblabel_cells("bench-hd", 3), NBLABEL_NAV_JS, n_nav),
                ("nblabel_1080p_no_prefetch", nblabel_cells("bench-hd", 0), NBLABEL_NAV_JS,
                 n_nav),
                ("nblabel_6000x4000", nblabel_cells("bench-big", 3), NBLABEL_NAV_JS, n_large),
                ("bbw_1080p", bbw_cells(hd), BBW_NAV_JS, n_nav),
            ]
            for name, cells, js, n in scenarios:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                write_notebook(lab.root / f"{name}.ipynb", cells)
                open_and_run(page, lab.url, f"{name}.ipynb")
                if js is NBLABEL_NAV_JS:
                    page.wait_for_function(
                        "() => { const r = document.querySelector('.nblabel-root');"
                        " return r && r.dataset.paintedSample; }", timeout=120_000)
                else:
                    page.wait_for_function(
                        "() => { const i = document.querySelector('.jp-OutputArea-output img');"
                        " return i && i.complete && i.naturalWidth > 0; }", timeout=120_000)
                page.wait_for_timeout(1500)  # let the first prefetches arrive
                results[name] = page.evaluate(js, [n, dwell])
                page.close()
            browser.close()
    finally:
        lab.stop()
        mongod.stop()

    rows = [(name, len(v), median(v), percentile(v, 95), max(v)) for name, v in results.items()]
    print()
    print_table(["scenario", "navigations", "p50 ms", "p95 ms", "max ms"], rows)
    p50 = median(results["nblabel_1080p"])
    bbw_p50 = median(results["bbw_1080p"])
    figures = {
        "p50_ms": round(p50, 1),
        "p95_ms": round(percentile(results["nblabel_1080p"], 95), 1),
        "p50_ms_no_prefetch": round(median(results["nblabel_1080p_no_prefetch"]), 1),
        "p95_ms_no_prefetch": round(percentile(results["nblabel_1080p_no_prefetch"], 95), 1),
        "p50_ms_large": round(median(results["nblabel_6000x4000"]), 1),
        "p95_ms_large": round(percentile(results["nblabel_6000x4000"], 95), 1),
        "bbw_p50_ms": round(bbw_p50, 1),
        "bbw_p95_ms": round(percentile(results["bbw_1080p"], 95), 1),
        "ratio_vs_bbw": round(bbw_p50 / p50, 2) if p50 > 0 else None,
        "navigations": {k: len(v) for k, v in results.items()},
        "quick": args.quick,
    }
    print(f"\nnblabel p95 at 1080p with prefetch: {figures['p95_ms']} ms (target <= 50 ms); "
          f"jupyter-bbox-widget p50 / nblabel p50 = {figures['ratio_vs_bbw']}")
    emit(figures)


if __name__ == "__main__":
    main()
