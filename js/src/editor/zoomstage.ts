// The one zoomable view of the canvas kinds (video, shapes, volume): a canvas whose backing
// store is the content at fit size, a zoom/pan transform (./view.ts, the image widget's), the
// minimap when zoomed in, Ctrl+wheel zoom at the pointer, pan by middle-drag or a drag on empty
// image when zoomed (Space is a kind's key: play, skip a point). Every point the kind sends back goes through toImage(), so
// it is exact at any zoom. The kind paints inside begin()/end() in image pixels.
import { CONTRACT } from "./contract";
import { el } from "./dom";
import { Minimap } from "./minimap";
import { type View, centreOn, createView, fit, toImage, zoomAt } from "./view";

export interface ZoomHost {
  /** The content's size in image pixels (0 when unknown yet). */
  size(): [number, number];
  /** Repaint (the view changed). */
  paint(): void;
  /** What the minimap shows (the frame, slice or image on screen). */
  source(): CanvasImageSource | null;
  /** A plain wheel turn (no Ctrl): true when the kind used it (a frame or slice step). */
  wheel?(e: WheelEvent): boolean;
}

export interface StageSize {
  /** Fit size limits of the canvas's longer side, in canvas pixels. */
  minSide: number;
  maxSide: number;
  /** Row spacing over column spacing (a volume's pixels may not be square). */
  aspect?: number;
}

export class ZoomStage {
  readonly wrap = el("div", "nblabel-stage-wrap");
  readonly view: View = createView();
  readonly minimap: Minimap;
  /** The scale at fit (canvas pixels per image pixel). */
  fitScale = 1;
  private pan: { x: number; y: number; tx: number; ty: number } | null = null;
  private shown: CanvasImageSource | null = null;
  private thumbAt = 0;

  /** `marks`: the element whose data-zoom, data-tx, data-ty say where the view is (the
   *  widget's root: the tests' contract). */
  constructor(readonly canvas: HTMLCanvasElement, private host: ZoomHost,
    private limits: StageSize, private marks: HTMLElement = canvas) {
    this.minimap = new Minimap((x, y) => {
      centreOn(this.view, x, y, this.canvas.width, this.canvas.height / this.aspect);
      this.changed();
    });
    this.wrap.append(canvas, this.minimap.canvas);
    canvas.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
  }

  get aspect(): number {
    return this.limits.aspect || 1;
  }

  /** How far in the view is zoomed (1: fit). */
  get zoom(): number {
    return this.view.scale / this.fitScale;
  }

  /** Size the canvas for the content and fit it (a new frame size, slice size or image). */
  layout(): void {
    const [w, h] = this.host.size();
    const W = w || 640;
    const H = (h || 360) * this.aspect;
    const long = Math.max(W, H);
    const s = long < this.limits.minSide ? this.limits.minSide / long
      : long > this.limits.maxSide ? this.limits.maxSide / long : 1;
    this.canvas.width = Math.round(W * s);
    this.canvas.height = Math.round(H * s);
    this.fit();
  }

  fit(): void {
    const [w, h] = this.host.size();
    fit(this.view, w || 1, h || 1, this.canvas.width, this.canvas.height / this.aspect);
    this.fitScale = this.view.scale;
    this.changed();
  }

  /** Zoom by `factor` at canvas point (cx, cy) (the centre by default), within the contract's
   *  limits relative to fit. */
  zoomBy(factor: number, cx = this.canvas.width / 2, cy = this.canvas.height / 2): void {
    const { min, max } = CONTRACT.zoom;
    const target = Math.min(Math.max(this.zoom * factor, min), max);
    zoomAt(this.view, target / this.zoom, cx, cy / this.aspect);
    this.changed();
  }

  /** The canvas point of a pointer event (backing-store pixels). */
  canvasPoint(e: { clientX: number; clientY: number }): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (this.canvas.width / Math.max(r.width, 1)),
      (e.clientY - r.top) * (this.canvas.height / Math.max(r.height, 1))];
  }

  /** The image point of a pointer event (image pixels, exact at any zoom). */
  toImage(e: { clientX: number; clientY: number }): [number, number] {
    const [sx, sy] = this.canvasPoint(e);
    return toImage(this.view, sx, sy / this.aspect);
  }

  /** The stage point (the view's space, for handle hit tests) of a pointer event. */
  stagePoint(e: { clientX: number; clientY: number }): [number, number] {
    const [sx, sy] = this.canvasPoint(e);
    return [sx, sy / this.aspect];
  }

  /** Clear, then set the transform: the kind paints in image pixels until end(). */
  begin(ctx: CanvasRenderingContext2D): void {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const v = this.view;
    ctx.setTransform(v.scale, 0, 0, v.scale * this.aspect, v.tx, v.ty * this.aspect);
  }

  /** Screen-constant sizes: `px` canvas pixels in image pixels. */
  px(px: number): number {
    return px / this.view.scale;
  }

  /** A press that pans: the middle button, or (`empty`) a press on no object while zoomed in.
   *  True when it started a pan. */
  maybePan(e: PointerEvent, empty = false): boolean {
    if (!(e.button === 1 || (empty && this.zoom > 1.001))) return false;
    this.pan = { x: e.clientX, y: e.clientY, tx: this.view.tx, ty: this.view.ty };
    this.canvas.setPointerCapture(e.pointerId);
    this.canvas.dataset.panning = "true";
    return true;
  }

  /** Follow a pan; true when one is going on. */
  panMove(e: PointerEvent): boolean {
    if (!this.pan) return false;
    const r = this.canvas.getBoundingClientRect();
    const k = this.canvas.width / Math.max(r.width, 1);
    this.view.tx = this.pan.tx + (e.clientX - this.pan.x) * k;
    this.view.ty = this.pan.ty + (e.clientY - this.pan.y) * k / this.aspect;
    this.changed();
    return true;
  }

  /** End a pan; true when one ended. */
  panEnd(): boolean {
    if (!this.pan) return false;
    this.pan = null;
    delete this.canvas.dataset.panning;
    return true;
  }

  private onWheel(e: WheelEvent): void {
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      const [cx, cy] = this.canvasPoint(e);
      this.zoomBy(e.deltaY < 0 ? CONTRACT.zoom.wheel_step : 1 / CONTRACT.zoom.wheel_step, cx, cy);
    } else if (this.host.wheel?.(e)) {
      e.preventDefault();
    }
  }

  /** The view moved: the kind repaints, the minimap follows. */
  changed(): void {
    const d = this.marks.dataset;
    d.zoom = this.zoom.toFixed(3);
    d.tx = this.view.tx.toFixed(1);
    d.ty = this.view.ty.toFixed(1);
    this.host.paint();
  }

  /** The source's pixels changed in place (a volume's slice canvas): remake the minimap's. */
  sourceChanged(): void {
    this.shown = null;
  }

  /** After the kind painted: the minimap shows `source`. Its small copy is made again when
   *  the source changed, at most twice a second: stepping frames or slices at 25 a second
   *  does not redo it on every step (an overview needs no more). */
  painted(): void {
    const source = this.host.source();
    const now = performance.now();
    if (source !== this.shown && (this.shown === null || now - this.thumbAt > 500)) {
      this.shown = source;
      this.thumbAt = now;
      this.minimap.setImage(source, ...this.host.size());
    }
    this.minimap.draw(this.view, this.canvas.width, this.canvas.height / this.aspect);
  }
}
