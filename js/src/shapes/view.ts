// The shapes widget (keypoints, polylines) in the shared editor (../editor/kindview.ts: zoom,
// class list, requests, keys), plus what is its own: skeletons and polylines drawn over the
// image, point dragging, drawing point by point, polyline vertex editing. Python decides what an
// action changes (and which image comes next) and sends the shapes back.
import type { AnyModel } from "@anywidget/types";
import { ADDED, REJECTED, statusColour, statusName } from "../editor/contract";
import type { AttributeValue } from "../editor/attributes";
import { type AttributeTarget, KindView } from "../editor/kindview";
import { PolygonEdit, type Pt } from "../editor/polygon";
import { type ShapeKey, SHAPE_KEYS } from "./keys";
import { confColour, hitPoint, nextShape, stepPoint } from "./model";
import type { ShapeActionName, ShapesFromPython, ShapeTraits, WireShape } from "./types";

export class ShapesView extends KindView<ShapeTraits, ShapeKey> {
  bitmap: ImageBitmap | null = null;
  drag: { shape: string; point: number; xy: Pt; moved: boolean } | null = null;
  /** Drawing a new shape: the points placed so far (null: a keypoint skipped). */
  drawing: (Pt | null)[] | null = null;
  poly = new PolygonEdit();

  constructor(model: AnyModel<ShapeTraits>, host: HTMLElement) {
    super(model, host, "shapes", SHAPE_KEYS, { minSide: 480, maxSide: 1280 });
    this.mount();
    this.wire();
    this.showClasses();
    void this.loadImage();
  }

  size(): [number, number] {
    return [this.model.get("width") || 320, this.model.get("height") || 240];
  }

  protected buttons(): [string, ShapeKey][] {
    return [["◀", "prev_image"], ["▶", "next_image"], ["✓", "accept"], ["✗", "reject"],
      ["+ shape", "new_shape"], ["done", "complete"]];
  }

  source(): CanvasImageSource | null {
    return this.bitmap;
  }

  private wire(): void {
    const m = this.model;
    m.on("msg:custom", (msg: ShapesFromPython) => this.answered(msg));
    m.on("change:image", () => void this.loadImage());
    for (const t of ["shapes", "selected", "point", "reviewed", "assist"] as const) {
      m.on(`change:${t}`, () => {
        this.showClasses();
        this.paint();
      });
    }
  }

  private async loadImage(): Promise<void> {
    const data = this.model.get("image");
    this.stage.layout();
    this.drawing = null;
    this.poly.stop();
    const sample = this.model.get("sample_id");
    const bitmap = data ? await createImageBitmap(new Blob([data.buffer as ArrayBuffer])) : null;
    if (sample !== this.model.get("sample_id")) return;
    this.bitmap = bitmap;
    this.paint();
  }

  private selectedShape(): WireShape | null {
    return this.model.get("shapes").find((s) => s.id === this.model.get("selected")) ?? null;
  }

  protected selectedLabel(): string | null {
    return this.selectedShape()?.label ?? null;
  }

  private select(shape: string, point = -1): void {
    this.model.set("selected", shape);
    this.model.set("point", point);
    this.model.save_changes();
    this.paint();
  }

  private act_(action: ShapeActionName, extra: Record<string, unknown> = {},
    revert: (() => void) | null = null): void {
    this.request({ kind: "act", action, shape: this.model.get("selected"),
      point: this.model.get("point"), ...extra }, revert);
  }

  protected attributeTarget(): AttributeTarget | null {
    const s = this.selectedShape();
    return s && s.status !== REJECTED ? { key: s.id, label: s.label, values: s.attributes }
      : null;
  }

  protected setAttribute(key: string, name: string, value: AttributeValue | null): void {
    this.act_("attributes", { shape: key, values: { [name]: value } });
  }

  protected picked(label: string): void {
    const s = this.selectedShape();
    if (s && s.label !== label && s.status !== REJECTED) this.act_("relabel", { label });
  }

  act(a: ShapeKey | "undo" | "redo"): void {
    const kp = this.model.get("kind") === "keypoints";
    // Moving the selection waits for the requests on their way: it starts from the shape
    // Python selected after them (after `a`, the next pending one).
    const after = (fn: (s: WireShape | null, shapes: WireShape[]) => void) =>
      this.requests.answers.whenFree(() => fn(this.selectedShape(), this.model.get("shapes")));
    const table: Record<ShapeKey | "undo" | "redo", () => void> = {
      next_image: () => this.model.send({ kind: "nav", to: "next" }),
      prev_image: () => this.model.send({ kind: "nav", to: "prev" }),
      next_shape: () => after((_, all) => this.select(nextShape(all, this.model.get("selected"), 1))),
      prev_shape: () => after((_, all) => this.select(nextShape(all, this.model.get("selected"),
        -1))),
      next_point: () => after((s) => s && this.select(s.id, stepPoint(s, this.model.get("point"),
        1))),
      prev_point: () => after((s) => s && this.select(s.id, stepPoint(s, this.model.get("point"),
        -1))),
      accept: () => this.decideShape("accept", 1),
      reject: () => this.decideShape("reject", REJECTED),
      accept_point: () => this.act_("accept_point"),
      reject_point: () => this.act_("reject_point"),
      hide_point: () => this.act_("hide_point"),
      new_shape: () => this.startDrawing(),
      finish: () => this.finish(false),
      finish_closed: () => this.finish(true),
      skip_point: () => {
        if (this.drawing && kp) this.place(null);
      },
      cancel: () => {
        this.drawing = null;
        this.paint();
      },
      delete: () => this.act_("delete"),
      show_proposals: () => this.act_("show_proposals"),
      accept_rest: () => this.act_("accept_rest"),
      complete: () => this.act_("complete"),
      undo: () => this.act_("undo"),
      redo: () => this.act_("redo"),
    };
    table[a]();
  }

  /** The selected shape accepted or rejected, painted at once (put back if refused). */
  private decideShape(action: "accept" | "reject", code: number): void {
    this.decideNow(() => {
      const s = this.selectedShape();
      if (!s) return null;
      const before = s.status;
      s.status = code;
      return () => {
        s.status = before;
      };
    }, (revert) => this.act_(action, {}, revert));
  }

  private startDrawing(): void {
    this.drawing = [];
    this.paint();
  }

  /** The next point of the shape being drawn (null: a keypoint that is not there). */
  private place(p: Pt | null): void {
    if (!this.drawing) return;
    this.drawing.push(p);
    const names = this.model.get("skeleton").names;
    if (this.model.get("kind") === "keypoints" && this.drawing.length >= names.length) {
      this.finish(false);
    } else {
      this.paint();
    }
  }

  private finish(closed: boolean): void {
    const pts = this.drawing;
    if (!pts) return;
    this.drawing = null;
    const kp = this.model.get("kind") === "keypoints";
    const n = this.model.get("skeleton").names.length;
    const points = kp ? [...pts, ...Array(Math.max(0, n - pts.length)).fill(null)] : pts;
    if (points.some((p) => p !== null)) {
      this.act_("add", { points, closed, label: this.picker.value || "" });
    }
    this.paint();
  }

  protected down(e: PointerEvent): boolean {
    if (e.button !== 0) return false;
    const [x, y] = this.stage.toImage(e);
    if (this.drawing) {
      this.place([x, y]);
      return true;
    }
    const tol = this.stage.px(8);
    const s = this.selectedShape();
    if (s && this.model.get("kind") === "polyline" && s.status !== 2) {
      this.poly.start(s.id, s.closed);
      this.poly.points = s.points.filter((p): p is Pt => p !== null).map(([a, b]) => [a, b]);
      if (this.poly.down(x, y, tol, e.shiftKey)) {
        this.canvas.setPointerCapture(e.pointerId);
        this.paint();
        return true;
      }
      this.poly.stop();
    }
    const h = hitPoint(this.model.get("shapes"), x, y, tol, this.model.get("selected"));
    if (!h) return false;
    this.select(h.shape, h.point);
    if (this.model.get("kind") === "keypoints") {
      this.drag = { shape: h.shape, point: h.point, xy: [x, y], moved: false };
      this.canvas.setPointerCapture(e.pointerId);
    }
    return true;
  }

  protected move(e: PointerEvent): void {
    const [x, y] = this.stage.toImage(e);
    if (this.poly.on) {
      this.poly.move(x, y);
      this.paint();
    } else if (this.drag) {
      this.drag.xy = [x, y];
      this.drag.moved = true;
      this.paint();
    }
  }

  protected up(): void {
    if (this.poly.on) {
      const pts = this.poly.up();
      const id = this.poly.key!;
      this.poly.stop();
      if (pts) this.act_("reshape", { shape: id, points: pts }, () => this.paint());
      return;
    }
    const d = this.drag;
    this.drag = null;
    if (!d || !d.moved) return;
    const s = this.model.get("shapes").find((x) => x.id === d.shape);
    const before = s ? s.points[d.point] : null;
    if (s) s.points[d.point] = d.xy; // painted at once, Python follows
    this.act_("move_point", { shape: d.shape, point: d.point, xy: d.xy }, () => {
      if (s) s.points[d.point] = before; // refused or timed out: put back
      this.paint();
    });
    this.paint();
  }

  paint(): void {
    const ctx = this.ctx;
    const [w, h] = this.size();
    this.stage.begin(ctx);
    if (this.bitmap) ctx.drawImage(this.bitmap, 0, 0, w, h);
    const selected = this.model.get("selected");
    const kp = this.model.get("kind") === "keypoints";
    const edges = kp ? this.model.get("skeleton").edges : [];
    for (const s of this.model.get("shapes")) {
      const pts = s.points.map((p, i): Pt | null =>
        this.drag && this.drag.shape === s.id && this.drag.point === i ? this.drag.xy : p);
      const shown = this.poly.on && this.poly.key === s.id ? this.poly.points : pts;
      this.drawShape(s, shown, edges, s.id === selected);
    }
    if (this.drawing) this.drawDrawing(kp);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.stage.painted();
    this.drawInfo();
  }

  private drawShape(s: WireShape, pts: (Pt | null)[], edges: [number, number][],
    sel: boolean): void {
    const ctx = this.ctx;
    const px = (n: number) => this.stage.px(n);
    const r = px(4);
    ctx.strokeStyle = statusColour(s.status);
    ctx.lineWidth = px(sel ? 3 : 1.5);
    ctx.setLineDash(s.status === REJECTED ? [px(4), px(3)] : []);
    ctx.beginPath();
    const pairs: [number, number][] = edges.length ? edges
      : pts.slice(1).map((_, i): [number, number] => [i, i + 1]);
    if (!edges.length && s.closed && pts.length > 2) pairs.push([pts.length - 1, 0]);
    for (const [a, b] of pairs) {
      const p = pts[a];
      const q = pts[b];
      if (!p || !q) continue;
      ctx.moveTo(p[0], p[1]);
      ctx.lineTo(q[0], q[1]);
    }
    ctx.stroke();
    ctx.setLineDash([]);
    if (s.status === REJECTED) return;
    pts.forEach((p, i) => {
      if (!p) return;
      ctx.beginPath();
      ctx.arc(p[0], p[1], r, 0, 2 * Math.PI);
      ctx.fillStyle = confColour(s.conf[i] ?? null);
      if (s.vis[i] === false) {
        ctx.lineWidth = px(2);
        ctx.strokeStyle = ctx.fillStyle;
        ctx.stroke(); // occluded: a ring
      } else {
        ctx.fill();
      }
      if (s.pst[i] !== 0) { // decided points get a dark outline
        ctx.lineWidth = px(1);
        ctx.strokeStyle = "#111";
        ctx.stroke();
      }
    });
    const sp = this.model.get("point");
    if (sel && sp >= 0 && pts[sp]) {
      const p = pts[sp]!;
      ctx.beginPath();
      ctx.arc(p[0], p[1], 2 * r, 0, 2 * Math.PI);
      ctx.lineWidth = px(2);
      ctx.strokeStyle = "#fff";
      ctx.stroke();
      const name = this.model.get("skeleton").names[sp] ?? `point ${sp}`;
      const c = s.conf[sp];
      const text = `${name}${c !== null && c !== undefined ? ` ${c.toFixed(2)}` : ""}`;
      // White on a dark outline: readable on light and dark images alike.
      ctx.font = `${px(12)}px sans-serif`;
      ctx.lineWidth = px(3);
      ctx.strokeStyle = "#000";
      ctx.strokeText(text, p[0] + 2 * r, p[1] - 2 * r);
      ctx.fillStyle = "#fff";
      ctx.fillText(text, p[0] + 2 * r, p[1] - 2 * r);
    }
  }

  private drawDrawing(kp: boolean): void {
    const ctx = this.ctx;
    const pts = this.drawing!;
    ctx.fillStyle = statusColour(ADDED);
    for (const p of pts) {
      if (!p) continue;
      ctx.beginPath();
      ctx.arc(p[0], p[1], this.stage.px(4), 0, 2 * Math.PI);
      ctx.fill();
    }
    const names = this.model.get("skeleton").names;
    this.say(kp
      ? `click the ${names[pts.length] ?? "last point"} (Space: not there, Enter: done)`
      : `click the next vertex (${pts.length} so far; Enter ends, Shift+Enter closes it)`);
  }

  private drawInfo(): void {
    const shapes = this.model.get("shapes");
    const pending = shapes.filter((s) => s.status === 0).length;
    const s = this.selectedShape();
    const d = this.root.dataset;
    d.sample = this.model.get("sample_id");
    d.selected = this.model.get("selected");
    d.point = String(this.model.get("point"));
    d.shapes = String(shapes.length);
    d.pending = String(pending);
    d.decided = String(shapes.length - pending);
    d.assist = String(this.model.get("assist"));
    if (this.drawing) d.drawing = String(this.drawing.length);
    else delete d.drawing;
    if (this.bitmap) d.painted = this.model.get("sample_id");
    this.info.textContent = `image ${this.model.get("position") + 1}/${this.model.get("total")}`
      + ` · ${shapes.length - pending} of ${shapes.length} decided`
      + (s ? ` · ${s.label} ${s.id.slice(-4)} ${statusName(s.status)}` : "")
      + (this.stage.zoom > 1.001 ? ` · zoom ${Math.round(this.stage.zoom * 100)}%` : "")
      + (this.model.get("assist") ? "" : " · proposals hidden: they cost more than drawing")
      + (this.model.get("reviewed") ? " · reviewed" : "");
  }

  dispose(): void {
    this.leaveView();
  }
}
