// Zoom and pan: one transform from image pixels to stage pixels, screen = image * scale + t.
// Every coordinate the widget sends back is converted through toImage(), so it is exact at any
// zoom level and display size.
import contract from "./contract.json";

/** A box in image pixels: x, y (top-left), width, height. */
export type Box4 = [number, number, number, number];

/** How near a handle a press grabs it, in screen pixels (the contract's, for every kind). */
const HANDLE_PX = contract.box.handle_px;

export const MIN_SCALE = 0.02;
export const MAX_SCALE = 64;

export interface View {
  scale: number;
  tx: number;
  ty: number;
}

export type Handle = "nw" | "n" | "ne" | "e" | "se" | "s" | "sw" | "w";
export const HANDLES: readonly Handle[] = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

export function createView(): View {
  return { scale: 1, tx: 0, ty: 0 };
}

/** Fit a w x h image into a W x H stage, centred. */
export function fit(view: View, w: number, h: number, W: number, H: number): View {
  const s = Math.min(W / w, H / h);
  view.scale = Number.isFinite(s) && s > 0 ? s : 1;
  view.tx = (W - w * view.scale) / 2;
  view.ty = (H - h * view.scale) / 2;
  return view;
}

/** Show the image region [x, y, w, h] (image pixels) as large as fits, centred. */
export function fitRegion(view: View, region: Box4, W: number, H: number,
  maxScale = MAX_SCALE): View {
  const [x, y, w, h] = region;
  const s = Math.min(W / Math.max(w, 1), H / Math.max(h, 1), maxScale);
  view.scale = s;
  view.tx = W / 2 - (x + w / 2) * s;
  view.ty = H / 2 - (y + h / 2) * s;
  return view;
}

/** Centre the view on image point (x, y), keeping the scale. */
export function centreOn(view: View, x: number, y: number, W: number, H: number): View {
  view.tx = W / 2 - x * view.scale;
  view.ty = H / 2 - y * view.scale;
  return view;
}

/** Zoom by `factor` keeping the stage point (cx, cy) fixed. */
export function zoomAt(view: View, factor: number, cx: number, cy: number): View {
  const s = Math.min(Math.max(view.scale * factor, MIN_SCALE), MAX_SCALE);
  const k = s / view.scale;
  view.tx = cx - (cx - view.tx) * k;
  view.ty = cy - (cy - view.ty) * k;
  view.scale = s;
  return view;
}

export function toImage(view: View, sx: number, sy: number): [number, number] {
  return [(sx - view.tx) / view.scale, (sy - view.ty) / view.scale];
}

export function toStage(view: View, x: number, y: number): [number, number] {
  return [x * view.scale + view.tx, y * view.scale + view.ty];
}

/** The image region the stage shows: [x0, y0, x1, y1] in image pixels. */
export function visibleRegion(view: View, W: number, H: number): [number, number, number, number] {
  const [x0, y0] = toImage(view, 0, 0);
  const [x1, y1] = toImage(view, W, H);
  return [x0, y0, x1, y1];
}

/** A box [x, y, w, h] clipped to the image; null when nothing is left of it. */
export function clipBox(box: Box4, w: number, h: number): Box4 | null {
  const x1 = Math.min(Math.max(box[0], 0), w);
  const y1 = Math.min(Math.max(box[1], 0), h);
  const x2 = Math.min(Math.max(box[0] + box[2], 0), w);
  const y2 = Math.min(Math.max(box[1] + box[3], 0), h);
  if (x2 - x1 < 1 || y2 - y1 < 1) return null;
  const r = (v: number) => Math.round(v * 100) / 100;
  return [r(x1), r(y1), r(x2 - x1), r(y2 - y1)];
}

/** Box from two corner points in any order. */
export function boxFromCorners(ax: number, ay: number, bx: number, by: number): Box4 {
  return [Math.min(ax, bx), Math.min(ay, by), Math.abs(bx - ax), Math.abs(by - ay)];
}

/** Move one edge or corner of a box by (dx, dy). */
export function resizeBox(box: Box4, handle: Handle, dx: number, dy: number): Box4 {
  let [x1, y1] = box;
  let x2 = box[0] + box[2];
  let y2 = box[1] + box[3];
  if (handle.includes("w")) x1 += dx;
  if (handle.includes("e")) x2 += dx;
  if (handle.includes("n")) y1 += dy;
  if (handle.includes("s")) y2 += dy;
  return boxFromCorners(x1, y1, x2, y2);
}

export function handlePoint(box: Box4, handle: Handle): [number, number] {
  const [x, y, w, h] = box;
  const hx = handle.includes("w") ? x : handle.includes("e") ? x + w : x + w / 2;
  const hy = handle.includes("n") ? y : handle.includes("s") ? y + h : y + h / 2;
  return [hx, hy];
}

/** The handles a box shows at `scale`: 8, only the corners on a small box (under 24 screen
 *  pixels a side), none on a sliver (under 10): handles would hide the box they belong to. */
export function shownHandles(box: Box4, scale: number): readonly Handle[] {
  const small = Math.min(box[2], box[3]) * scale;
  return small >= 24 ? HANDLES : small >= 10 ? CORNERS : [];
}

const CORNERS: readonly Handle[] = ["nw", "ne", "se", "sw"];

/** The handle of `box` within `radius` stage pixels of stage point (sx, sy), if any (of those
 *  the box shows at this zoom, :func:`shownHandles`). */
export function handleAt(view: View, box: Box4, sx: number, sy: number,
  radius = HANDLE_PX): Handle | null {
  for (const h of shownHandles(box, view.scale)) {
    const [hx, hy] = toStage(view, ...handlePoint(box, h));
    if (Math.abs(hx - sx) <= radius && Math.abs(hy - sy) <= radius) return h;
  }
  return null;
}
