// The one box editor of the canvas kinds (video, volume): press on a box to move it, on one of
// the selected box's 8 handles to resize it, or (drawing) anywhere to draw one; the box follows
// the pointer clipped to the image and never smaller than the contract's minimum. Margins are in
// screen pixels, so they feel the same at every zoom. Pure: tested in Node.
import { CONTRACT } from "./contract";
import {
  type Box4, type Handle, type View, boxFromCorners, clipBox, handleAt, resizeBox,
} from "./view";

export type { Box4 };

/** A box the editor may pick: its key, where it is, whether it can be moved. */
export interface EditBox { key: string; box: Box4; movable: boolean }

export interface BoxDrag {
  key: string;
  kind: "move" | "resize" | "draw";
  handle: Handle | null;
  start: [number, number];
  orig: Box4;
  box: Box4;
  moved: boolean;
}

const { hit_margin_px: HIT, min_size: MIN } = CONTRACT.box;

/** The box a press at image point (x, y) picks: the selected one when the press is on it, else
 *  the smallest under the press (within the hit margin). */
export function pick(view: View, boxes: readonly EditBox[], selected: string, x: number,
  y: number): EditBox | null {
  const m = HIT / view.scale;
  const under = boxes.filter(({ box: [bx, by, bw, bh] }) =>
    x >= bx - m && x <= bx + bw + m && y >= by - m && y <= by + bh + m);
  if (!under.length) return null;
  return under.find((b) => b.key === selected)
    ?? under.reduce((a, b) => (b.box[2] * b.box[3] < a.box[2] * a.box[3] ? b : a));
}

/** Start a drag at image point (x, y) (stage point (sx, sy) for the handles): a resize by a
 *  handle of the selected box, a move of the box picked, or null. */
export function startDrag(view: View, boxes: readonly EditBox[], selected: string,
  x: number, y: number, sx: number, sy: number): BoxDrag | null {
  const sel = boxes.find((b) => b.key === selected && b.movable);
  const handle = sel ? handleAt(view, sel.box, sx, sy) : null;
  if (sel && handle) {
    return { key: sel.key, kind: "resize", handle, start: [x, y], orig: [...sel.box],
      box: [...sel.box], moved: false };
  }
  const b = pick(view, boxes, selected, x, y);
  if (!b) return null;
  return { key: b.key, kind: "move", handle: null, start: [x, y], orig: [...b.box],
    box: [...b.box], moved: false };
}

/** Start drawing a new box at image point (x, y). */
export function startDraw(x: number, y: number): BoxDrag {
  return { key: "", kind: "draw", handle: null, start: [x, y], orig: [x, y, 0, 0],
    box: [x, y, 0, 0], moved: false };
}

/** The drag's box with the pointer at image point (x, y), in a w x h image. */
export function dragTo(d: BoxDrag, x: number, y: number, w: number, h: number): Box4 {
  const dx = x - d.start[0];
  const dy = y - d.start[1];
  let box: Box4;
  if (d.kind === "draw") {
    box = boxFromCorners(d.start[0], d.start[1], x, y);
  } else if (d.kind === "resize" && d.handle) {
    box = resizeBox(d.orig, d.handle, dx, dy);
  } else { // a move keeps the size and stays inside the image
    const [bx, by, bw, bh] = d.orig;
    box = [Math.min(Math.max(bx + dx, 0), Math.max(0, w - bw)),
      Math.min(Math.max(by + dy, 0), Math.max(0, h - bh)), bw, bh];
  }
  const clipped = clipBox(box, w, h) ?? d.box;
  d.box = [clipped[0], clipped[1], Math.max(MIN, clipped[2]), Math.max(MIN, clipped[3])];
  d.moved ||= Math.abs(dx) > 0 || Math.abs(dy) > 0;
  return d.box;
}

/** The box a finished drag leaves, or null when nothing changed or a drawn box is too small
 *  to mean anything (under 3 screen pixels a side). */
export function finish(d: BoxDrag, view: View): Box4 | null {
  if (!d.moved) return null;
  if (d.kind === "draw" && (d.box[2] * view.scale < 3 || d.box[3] * view.scale < 3)) return null;
  const [a, b, c, e] = d.orig;
  const [x, y, w, h] = d.box;
  if (d.kind !== "draw" && a === x && b === y && c === w && e === h) return null;
  return d.box;
}
