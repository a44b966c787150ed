// Pointer interactions on the stage: pan (drag on empty space), move and resize the selected box
// (drag its body or a handle), draw (key b, then drag), select (click: the smallest box under the
// pointer), add to the selection (Shift+click) or select a rectangle (Shift+drag), hover, and
// zoom with the wheel; in polygon editing (key g), drag a corner or an edge. Everything stays in
// the browser until the mouse is released: then one decision (an edit, a drawn box, a polygon)
// or one selection.
import type { Drag } from "./state";
import type { Box4 } from "./types";
import { type Handle, type View, boxFromCorners, handleAt, resizeBox, toImage, zoomAt } from "../editor/view";

export interface PointerHost {
  view: View;
  stage: HTMLElement;
  root: HTMLElement;
  drawing(): boolean;
  drag: Drag | null;
  /** The index of the box under image point (x, y) among those shown, or -1. */
  hit(x: number, y: number): number;
  keyAt(index: number): string;
  selected(): { key: string; box: Box4; movable: boolean } | null;
  select(key: string | null, toggle: boolean): void;
  band(box: Box4, base: ReadonlySet<string>): void;
  hover(key: string | null): void;
  viewChanged(): void;
  liveChanged(): void;
  moveStarted(key: string): void;
  moved(key: string, box: Box4 | null): void; // null: cancelled
  drawn(box: Box4): void;
  multi(): ReadonlySet<string>;
  /** Click-to-mask mode: clicks are points, a drag is a box. */
  segmenting(): boolean;
  segmentPoint(x: number, y: number, positive: boolean): void;
  segmentBox(box: Box4): void;
  /** Brush mode: a drag paints (Shift: erases) the selected mask, sent on release. */
  brushing(): boolean;
  brushPoint(x: number, y: number, erase: boolean, first: boolean): void;
  brushEnd(): void;
  /** Polygon editing: a press on a corner or an edge of the polygon shown (true: handled). */
  polygonDown(x: number, y: number, remove: boolean): boolean;
  polygonMove(x: number, y: number): void;
  polygonUp(): void;
}

export function attachPointer(host: PointerHost): () => void {
  const { stage, root } = host;
  const stagePoint = (e: MouseEvent): [number, number] => {
    const r = stage.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const imagePoint = (e: MouseEvent) => toImage(host.view, ...stagePoint(e));

  const onDown = (e: MouseEvent) => {
    if (e.button !== 0 && e.button !== 1) return;
    root.focus({ preventScroll: true });
    e.preventDefault();
    const [sx, sy] = stagePoint(e);
    const [ix, iy] = imagePoint(e);
    if (e.button === 1) {
      host.drag = { kind: "pan", start: [sx, sy], t: [host.view.tx, host.view.ty] };
      root.classList.add("nblabel-panning");
      return;
    }
    if (host.polygonDown(ix, iy, e.shiftKey)) {
      host.drag = { kind: "vertex" };
      return;
    }
    if (host.brushing()) {
      host.drag = { kind: "draw", start: [ix, iy], box: null };
      host.brushPoint(ix, iy, e.shiftKey, true);
      return;
    }
    if (host.drawing() || host.segmenting()) {
      host.drag = { kind: "draw", start: [ix, iy], box: null };
      return;
    }
    if (e.shiftKey) {
      host.drag = { kind: "band", start: [ix, iy], box: null, base: new Set(host.multi()) };
      return;
    }
    const sel = host.selected();
    const handle: Handle | null = sel && sel.movable ? handleAt(host.view, sel.box, sx, sy) : null;
    if (sel && handle) {
      host.drag = { kind: "box", key: sel.key, handle, start: [ix, iy], orig: [...sel.box],
        box: [...sel.box], moved: false };
      return;
    }
    const i = host.hit(ix, iy);
    if (i >= 0) {
      const key = host.keyAt(i);
      if (!sel || sel.key !== key) host.select(key, false);
      const now = host.selected();
      if (now && now.key === key && now.movable) {
        host.drag = { kind: "box", key, handle: "move", start: [ix, iy], orig: [...now.box],
          box: [...now.box], moved: false };
      }
      return;
    }
    host.drag = { kind: "pan", start: [sx, sy], t: [host.view.tx, host.view.ty] };
    root.classList.add("nblabel-panning");
  };

  const onMove = (e: MouseEvent) => {
    const drag = host.drag;
    if (!drag) {
      if (e.target instanceof Node && stage.contains(e.target)) {
        const [ix, iy] = imagePoint(e);
        const i = host.hit(ix, iy);
        host.hover(i >= 0 ? host.keyAt(i) : null);
        const sel = host.selected();
        const [sx, sy] = stagePoint(e);
        const h = sel && sel.movable ? handleAt(host.view, sel.box, sx, sy) : null;
        stage.dataset.cursor = h ? `resize-${h}` : i >= 0 ? "box" : "";
      }
      return;
    }
    if (drag.kind === "pan") {
      const [sx, sy] = stagePoint(e);
      host.view.tx = drag.t[0] + sx - drag.start[0];
      host.view.ty = drag.t[1] + sy - drag.start[1];
      host.viewChanged();
      return;
    }
    const [ix, iy] = imagePoint(e);
    if (drag.kind === "vertex") {
      host.polygonMove(ix, iy);
      return;
    }
    if (drag.kind === "draw" && host.brushing()) {
      host.brushPoint(ix, iy, e.shiftKey, false);
      return;
    }
    if (drag.kind === "draw") {
      drag.box = boxFromCorners(drag.start[0], drag.start[1], ix, iy);
      host.liveChanged();
      return;
    }
    if (drag.kind === "band") {
      drag.box = boxFromCorners(drag.start[0], drag.start[1], ix, iy);
      host.band(drag.box, drag.base);
      return;
    }
    const dx = ix - drag.start[0];
    const dy = iy - drag.start[1];
    if (!drag.moved && (Math.abs(dx) * host.view.scale > 1 || Math.abs(dy) * host.view.scale > 1)) {
      drag.moved = true;
      host.moveStarted(drag.key);
    }
    if (!drag.moved) return;
    drag.box = drag.handle === "move"
      ? [drag.orig[0] + dx, drag.orig[1] + dy, drag.orig[2], drag.orig[3]]
      : resizeBox(drag.orig, drag.handle, dx, dy);
    host.liveChanged(); // local only: nothing is sent while the mouse moves
  };

  const onUp = (e: MouseEvent) => {
    const drag = host.drag;
    host.drag = null;
    root.classList.remove("nblabel-panning");
    if (!drag) return;
    if (drag.kind === "vertex") {
      host.polygonUp();
    } else if (drag.kind === "draw" && host.brushing()) {
      host.brushEnd();
    } else if (drag.kind === "draw" && host.segmenting()) {
      const big = drag.box && drag.box[2] * host.view.scale >= 3 && drag.box[3] * host.view.scale >= 3;
      if (big && drag.box) host.segmentBox(drag.box);
      else host.segmentPoint(...imagePoint(e), !e.shiftKey);
      host.liveChanged();
    } else if (drag.kind === "draw") {
      if (drag.box && drag.box[2] * host.view.scale >= 3 && drag.box[3] * host.view.scale >= 3) {
        host.drawn(drag.box);
      } else {
        // A click while drawing selects the box under the pointer (drawing stays on).
        const [ix, iy] = imagePoint(e);
        const i = host.hit(ix, iy);
        if (i >= 0) host.select(host.keyAt(i), false);
      }
      host.liveChanged();
    } else if (drag.kind === "band") {
      if (!drag.box || drag.box[2] * host.view.scale < 3) {
        // A Shift+click: add the box under the pointer to the selection, or take it out.
        const [ix, iy] = imagePoint(e);
        const i = host.hit(ix, iy);
        if (i >= 0) host.select(host.keyAt(i), true);
      }
      host.liveChanged();
    } else if (drag.kind === "box") {
      host.moved(drag.key, drag.moved ? drag.box : null);
    } else {
      host.viewChanged();
    }
  };

  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    const [sx, sy] = stagePoint(e);
    zoomAt(host.view, Math.exp(-e.deltaY * 0.0015), sx, sy);
    host.viewChanged();
  };

  const onLeave = () => host.hover(null);
  stage.addEventListener("mousedown", onDown);
  stage.addEventListener("wheel", onWheel, { passive: false });
  stage.addEventListener("mouseleave", onLeave);
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", onUp);
  return () => {
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
  };
}
