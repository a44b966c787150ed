// Zoom and pan: one transform from image pixels to stage pixels, screen = image * scale + t.
// Every coordinate the widget sends back is converted through toImage(), so it is exact at any
// zoom level and display size.

export const MIN_SCALE = 0.02;
export const MAX_SCALE = 64;

export function createView() {
  return { scale: 1, tx: 0, ty: 0 };
}

/** Fit a w x h image into a W x H stage, centred. */
export function fit(view, w, h, W, H) {
  const s = Math.min(W / w, H / h);
  view.scale = Number.isFinite(s) && s > 0 ? s : 1;
  view.tx = (W - w * view.scale) / 2;
  view.ty = (H - h * view.scale) / 2;
  return view;
}

/** Show the image region [x, y, w, h] (image pixels) as large as fits, centred. */
export function fitRegion(view, region, W, H, maxScale = MAX_SCALE) {
  const [x, y, w, h] = region;
  const s = Math.min(W / Math.max(w, 1), H / Math.max(h, 1), maxScale);
  view.scale = s;
  view.tx = W / 2 - (x + w / 2) * s;
  view.ty = H / 2 - (y + h / 2) * s;
  return view;
}

/** Zoom by `factor` keeping the stage point (cx, cy) fixed. */
export function zoomAt(view, factor, cx, cy) {
  const s = Math.min(Math.max(view.scale * factor, MIN_SCALE), MAX_SCALE);
  const k = s / view.scale;
  view.tx = cx - (cx - view.tx) * k;
  view.ty = cy - (cy - view.ty) * k;
  view.scale = s;
  return view;
}

export function toImage(view, sx, sy) {
  return [(sx - view.tx) / view.scale, (sy - view.ty) / view.scale];
}

/** A box [x, y, w, h] clipped to the image; null when nothing is left of it. */
export function clipBox(box, w, h) {
  const x1 = Math.min(Math.max(box[0], 0), w);
  const y1 = Math.min(Math.max(box[1], 0), h);
  const x2 = Math.min(Math.max(box[0] + box[2], 0), w);
  const y2 = Math.min(Math.max(box[1] + box[3], 0), h);
  if (x2 - x1 < 1 || y2 - y1 < 1) return null;
  return [x1, y1, x2 - x1, y2 - y1].map((v) => Math.round(v * 100) / 100);
}

/** Box from two corner points in any order. */
export function boxFromCorners(ax, ay, bx, by) {
  return [Math.min(ax, bx), Math.min(ay, by), Math.abs(bx - ax), Math.abs(by - ay)];
}

/** Move one edge/corner (`handle`: n, s, e, w, ne, nw, se, sw) of a box by (dx, dy). */
export function resizeBox(box, handle, dx, dy) {
  let [x1, y1] = box;
  let x2 = box[0] + box[2];
  let y2 = box[1] + box[3];
  if (handle.includes("w")) x1 += dx;
  if (handle.includes("e")) x2 += dx;
  if (handle.includes("n")) y1 += dy;
  if (handle.includes("s")) y2 += dy;
  return boxFromCorners(x1, y1, x2, y2);
}

export const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

export function handlePoint(box, handle) {
  const [x, y, w, h] = box;
  const hx = handle.includes("w") ? x : handle.includes("e") ? x + w : x + w / 2;
  const hy = handle.includes("n") ? y : handle.includes("s") ? y + h : y + h / 2;
  return [hx, hy];
}
