// The image on the stage: showing an image with its rows, the layout, zoom and fit, the full
// resolution image when zoomed past the preview, and what tests and benchmarks read: the
// `nblabel:painted` event once what changed is on screen, and the drawn-box counts.
import type { Stats } from "./renderer";
import type { ImageMeta, Row } from "./types";
import { fit, fitRegion, zoomAt } from "../editor/view";
import { drawClassPanel } from "./panels";
import type { ReviewView } from "./widget";

export function showStats(v: ReviewView, s: Stats): void {
  const d = v.c.root.dataset;
  d.boxesDrawn = String(s.boxes);
  d.labelsDrawn = String(s.labels);
  d.masksDrawn = String(s.masks);
}

/** Tell tests and benchmarks when what changed is on screen: the next animation frame renders
 *  it, and a task posted from that frame runs once it has been drawn. `provisional`: a
 *  decision painted as on its way, before Python's answer. */
export function painted(v: ReviewView, seq: number | null = null, received: number | null = null,
  provisional = false): void {
  const sid = v.store.sampleId;
  requestAnimationFrame(() => {
    const frameStart = performance.now();
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      if (sid !== v.store.sampleId) return;
      v.c.root.dataset.paintedSample = sid || "";
      if (seq !== null) v.c.root.dataset.paintedSeq = String(seq);
      v.c.root.dispatchEvent(new CustomEvent("nblabel:painted",
        { detail: { sampleId: sid, seq, received, provisional, frameStart,
          t: performance.now() } }));
    };
    ch.port2.postMessage(0);
  });
}

export function drawBitmap(v: ReviewView, bitmap: ImageBitmap | null): void {
  const cv = v.c.image;
  if (!bitmap) {
    cv.width = 0;
    cv.height = 0;
    return;
  }
  if (cv.width !== bitmap.width || cv.height !== bitmap.height) {
    cv.width = bitmap.width;
    cv.height = bitmap.height;
  }
  v.imageCtx.drawImage(bitmap, 0, 0);
  v.minimap.setImage(cv, v.width, v.height); // the canvas keeps the pixels
}

/** Show an image with its rows; `image` is a bitmap, a promise of one, or null. */
export function display(v: ReviewView, meta: ImageMeta,
  image: ImageBitmap | Promise<ImageBitmap | null> | null, rows: Row[],
  selected: string | null): void {
  const c = v.c;
  v.store.setAll(meta.sample_id, rows);
  v.width = meta.image_width || 0;
  v.height = meta.image_height || 0;
  v.reindex();
  v.ui.multi.clear();
  v.ui.hover = null;
  v.ui.drag = null;
  v.masks.reset();
  v.drawFirst = Boolean(meta.draw_first);
  v.ui.drawing = v.drawFirst;
  v.exclude.clear();
  v.pendingEdit = null;
  c.root.classList.toggle("nblabel-drawing", v.drawFirst);
  c.root.dataset.drawFirst = String(v.drawFirst);
  c.root.dataset.sampleId = meta.sample_id;
  c.filename.textContent = meta.filename || "";
  const err = meta.image_error;
  c.root.classList.toggle("nblabel-has-error", Boolean(err));
  c.errorBox.textContent = err ? `Cannot show this image: ${err}` : "";
  c.world.style.display = err ? "none" : "";
  drawClassPanel(c, meta, (label) => v.decisions.classify(label));
  v.shownAt = performance.now();
  v.fullRes = !meta.image_preview;
  v.fullResAsked = false;
  delete c.root.dataset.fullRes;
  const sid = meta.sample_id;
  if (image instanceof Promise) {
    drawBitmap(v, null);
    image.then((bitmap) => {
      if (sid !== v.store.sampleId) return;
      drawBitmap(v, bitmap);
      painted(v);
    });
  } else {
    drawBitmap(v, image);
  }
  c.world.style.width = `${v.width}px`;
  c.world.style.height = `${v.height}px`;
  if (selected !== null) v.setSelected(selected);
  v.fitted = false;
  layout(v);
  v.renderAll();
  if (!(image instanceof Promise)) painted(v);
}

/** Stage height: the image fitted to the cell width, at most 72% of the window. */
export function layout(v: ReviewView): void {
  const stage = v.c.stage;
  const W = stage.clientWidth || 640;
  const aspect = v.width && v.height ? v.height / v.width : 0.75;
  const H = Math.max(200, Math.min(window.innerHeight * 0.72, W * aspect,
    Math.max(v.height, 480)));
  stage.style.height = `${Math.round(H)}px`;
  v.c.side.style.height = `${Math.round(H)}px`;
  if (!v.fitted) {
    if (v.model.get("mode") === "proposal" && v.store.get(v.selected)) {
      focusSelected(v);
    } else {
      fit(v.view, v.width || 1, v.height || 1, W, Math.round(H));
    }
    v.fitted = true;
  }
  v.viewChanged();
}

/** Proposal mode: the selected box and its surroundings fill the stage. */
export function focusSelected(v: ReviewView): void {
  const row = v.store.get(v.selected);
  if (!row) return;
  const [x, y, w, h] = row.box;
  const cw = Math.max(w * 3, 96);
  const ch = Math.max(h * 3, 96);
  const [W, H] = v.stageSize();
  fitRegion(v.view, [x + w / 2 - cw / 2, y + h / 2 - ch / 2, cw, ch], W, H, 8);
}

/** Zoomed in past the preview's resolution: ask Python for the full image once. */
export function askFullRes(v: ReviewView): void {
  const cv = v.c.image;
  if (v.fullRes || v.fullResAsked || !cv.width || !v.width) return;
  if (v.view.scale > (cv.width / v.width) * 1.2 && v.store.sampleId) {
    v.fullResAsked = true;
    v.send.fullRes(v.store.sampleId);
  }
}

export function zoomCentre(v: ReviewView, factor: number): void {
  const [W, H] = v.stageSize();
  zoomAt(v.view, factor, W / 2, H / 2);
  v.viewChanged();
}

export function fitImage(v: ReviewView): void {
  const [W, H] = v.stageSize();
  fit(v.view, v.width || 1, v.height || 1, W, H);
  v.viewChanged();
}
