// The pointer's view of the widget (pointer.ts talks only to this host): hit testing, the
// selection, the gesture in progress, the mask tools, and what a finished drag does (a move is
// an edit decision, a drawn box an added one).
import { CONTRACT } from "../editor/contract";
import type { PointerHost } from "./pointer";
import { band, select } from "./selection";
import { shown } from "./state";
import type { Box4 } from "./types";
import { clipBox } from "../editor/view";
import type { ReviewView } from "./widget";

/** A box moved or resized (null: cancelled, or moved off the image: put it back). */
export function moved(v: ReviewView, key: string, box: Box4 | null): void {
  const row = v.store.get(key);
  const clipped = box && clipBox(box, v.width, v.height);
  if (!row || !clipped) {
    v.exclude.delete(key);
    if (row) v.boxes.redraw([row.box]);
    v.liveChanged();
    return;
  }
  v.pendingEdit = { key, box: clipped };
  v.decisions.decide("edited", { box: clipped }, [key]);
  v.liveChanged();
}

/** A box drawn by hand: an added object of the class chosen for drawing. */
export function drawn(v: ReviewView, box: Box4): void {
  const clipped = clipBox(box, v.width, v.height);
  // With nothing proposed, drawing stays the default action (Esc or b leaves it).
  v.ui.drawing = v.drawFirst;
  v.c.root.classList.toggle("nblabel-drawing", v.drawFirst);
  if (!clipped || clipped[2] * v.view.scale < 3 || clipped[3] * v.view.scale < 3) return;
  v.decisions.add(v.newLabel(), clipped);
}

export function pointerHost(v: ReviewView): PointerHost {
  const m = v.masks;
  return {
    view: v.view,
    stage: v.c.stage,
    root: v.c.root,
    drawing: () => v.ui.drawing,
    segmenting: () => m.seg.on,
    brushing: () => m.brush.on,
    brushPoint: (x, y, erase, first) => m.brushPoint(x, y, erase, first),
    brushEnd: () => m.brushEnd(),
    polygonDown: (x, y, remove) => m.polygonDown(x, y, remove),
    polygonMove: (x, y) => m.polygonMove(x, y),
    polygonUp: () => m.polygonUp(),
    segmentPoint: (x, y, positive) => m.segmentPoint(x, y, positive),
    segmentBox: (box) => m.segmentBox(box),
    get drag() {
      return v.ui.drag;
    },
    set drag(d) {
      v.ui.drag = d;
    },
    hit: (x, y) => v.index.hit(x, y, CONTRACT.box.hit_margin_px / v.view.scale,
      (i) => shown(v.store.rows[i], v.ui)),
    keyAt: (i) => v.store.rows[i].key,
    selected: () => {
      const row = v.store.get(v.selected);
      return row && !row.unusable ? { key: row.key, box: row.box,
        movable: row.status !== "rejected" } : null;
    },
    select: (key, toggle) => select(v, key, toggle),
    band: (box, base) => band(v, box, base),
    hover: (key) => {
      if (key === v.ui.hover) return;
      v.ui.hover = key;
      v.c.root.dataset.hover = key ?? "";
      v.liveChanged();
    },
    viewChanged: () => v.viewChanged(),
    liveChanged: () => v.liveChanged(),
    moveStarted: (key) => {
      v.exclude.add(key);
      const row = v.store.get(key);
      if (row) v.boxes.redraw([row.box]);
    },
    moved: (key, box) => moved(v, key, box),
    drawn: (box) => drawn(v, box),
    multi: () => v.ui.multi,
  };
}
