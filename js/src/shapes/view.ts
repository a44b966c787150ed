// The shapes widget's controller: the image, keypoint skeletons and polylines on a canvas, the
// keys, point dragging and drawing point by point. Python decides what an action changes (and
// which image comes next) and sends the shapes back; dragging stays in the browser.
import type { AnyModel } from "@anywidget/types";
import { el } from "../dom";
import { helpPanel, keepInput, panelRoot } from "../panel";
import { PolygonEdit, type Pt } from "../polygon";
import { type ShapeKey, SHAPE_KEYS } from "./keys";
import { confColour, hitPoint, nextShape, stepPoint } from "./model";
import type { ShapeActionName, ShapesFromPython, ShapesToPython, ShapeTraits, WireShape } from "./types";

const STATUS_COLOUR = ["#ffb300", "#2e7d32", "#9e9e9e", "#1565c0", "#6a1b9a"];
/** Small images are drawn at least this many pixels on their longer side. */
const MIN_SIDE = 480;

export class ShapesView {
  root = panelRoot("shapes");
  info = el("div", "nblabel-shapes-info");
  canvas = el("canvas", "nblabel-shapes-canvas");
  message = el("div", "nblabel-message");
  help = helpPanel(SHAPE_KEYS.help());
  seq = 0;
  scale = 1;
  bitmap: ImageBitmap | null = null;
  drag: { shape: string; point: number; xy: Pt; moved: boolean } | null = null;
  /** Drawing a new shape: the points placed so far (null: a keypoint skipped). */
  drawing: (Pt | null)[] | null = null;
  poly = new PolygonEdit();
  private ctx: CanvasRenderingContext2D;

  constructor(public model: AnyModel<ShapeTraits>, host: HTMLElement) {
    this.root.append(this.info, this.canvas, this.message, this.help);
    host.appendChild(this.root);
    this.ctx = this.canvas.getContext("2d")!;
    this.message.textContent = model.get("message"); // e.g. what was wrong with the input
    this.wire();
    void this.loadImage();
  }

  private send(m: ShapesToPython): void {
    this.model.send(m);
  }

  private wire(): void {
    const m = this.model;
    m.on("msg:custom", (msg: ShapesFromPython) => {
      if (msg.kind === "answer") {
        delete this.root.dataset.busy;
        this.message.textContent = msg.error ?? "";
      }
    });
    m.on("change:image", () => void this.loadImage());
    for (const t of ["shapes", "selected", "point", "reviewed", "assist"] as const) {
      m.on(`change:${t}`, () => this.paint());
    }
    m.on("change:message", () => {
      this.message.textContent = m.get("message");
    });
    keepInput(this.root, (e) => {
      const action = SHAPE_KEYS.action(e);
      if (action) this.act(action);
      return action !== null;
    });
    this.canvas.addEventListener("pointerdown", (e) => this.onDown(e));
    this.canvas.addEventListener("pointermove", (e) => this.onMove(e));
    this.canvas.addEventListener("pointerup", () => this.onUp());
  }

  private async loadImage(): Promise<void> {
    const data = this.model.get("image");
    const w = this.model.get("width") || 320;
    const h = this.model.get("height") || 240;
    this.scale = Math.max(1, MIN_SIDE / Math.max(w, h));
    this.canvas.width = Math.round(w * this.scale);
    this.canvas.height = Math.round(h * this.scale);
    this.ctx.setTransform(this.scale, 0, 0, this.scale, 0, 0);
    this.ctx.font = `${Math.round(12 / this.scale)}px sans-serif`;
    this.drawing = null;
    this.poly.stop();
    const sample = this.model.get("sample_id");
    this.bitmap = data ? await createImageBitmap(new Blob([data.buffer as ArrayBuffer])) : null;
    if (sample === this.model.get("sample_id")) this.paint();
  }

  private selectedShape(): WireShape | null {
    return this.model.get("shapes").find((s) => s.id === this.model.get("selected")) ?? null;
  }

  private select(shape: string, point = -1): void {
    this.model.set("selected", shape);
    this.model.set("point", point);
    this.model.save_changes();
    this.paint();
  }

  private request(action: ShapeActionName, extra: Partial<Extract<ShapesToPython,
    { kind: "act" }>> = {}): void {
    this.root.dataset.busy = "true";
    this.send({ kind: "act", seq: ++this.seq, action, shape: this.model.get("selected"),
      point: this.model.get("point"), ...extra });
  }

  act(a: ShapeKey): void {
    const s = this.selectedShape();
    const shapes = this.model.get("shapes");
    const kp = this.model.get("kind") === "keypoints";
    const table: Record<ShapeKey, () => void> = {
      next_image: () => this.send({ kind: "nav", to: "next" }),
      prev_image: () => this.send({ kind: "nav", to: "prev" }),
      next_shape: () => this.select(nextShape(shapes, this.model.get("selected"), 1)),
      prev_shape: () => this.select(nextShape(shapes, this.model.get("selected"), -1)),
      next_point: () => s && this.select(s.id, stepPoint(s, this.model.get("point"), 1)),
      prev_point: () => s && this.select(s.id, stepPoint(s, this.model.get("point"), -1)),
      accept: () => this.request("accept"),
      reject: () => this.request("reject"),
      accept_point: () => this.request("accept_point"),
      reject_point: () => this.request("reject_point"),
      hide_point: () => this.request("hide_point"),
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
      delete: () => this.request("delete"),
      show_proposals: () => this.request("show_proposals"),
      accept_rest: () => this.request("accept_rest"),
      complete: () => this.request("complete"),
      undo: () => this.request("undo"),
      redo: () => this.request("redo"),
      help: () => {
        this.help.hidden = !this.help.hidden;
      },
    };
    table[a]();
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
    if (points.some((p) => p !== null)) this.request("add", { points, closed });
    this.paint();
  }

  private at(e: PointerEvent): Pt {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (this.canvas.width / r.width) / this.scale,
      (e.clientY - r.top) * (this.canvas.height / r.height) / this.scale];
  }

  private onDown(e: PointerEvent): void {
    const [x, y] = this.at(e);
    if (this.drawing) {
      this.place([x, y]);
      return;
    }
    const tol = 8 / this.scale;
    const s = this.selectedShape();
    if (s && this.model.get("kind") === "polyline" && s.status !== 2) {
      this.poly.start(s.id, s.closed);
      this.poly.points = s.points.filter((p): p is Pt => p !== null).map(([a, b]) => [a, b]);
      if (this.poly.down(x, y, tol, e.shiftKey)) {
        this.canvas.setPointerCapture(e.pointerId);
        this.paint();
        return;
      }
      this.poly.stop();
    }
    const h = hitPoint(this.model.get("shapes"), x, y, tol, this.model.get("selected"));
    if (!h) return;
    this.select(h.shape, h.point);
    if (this.model.get("kind") === "keypoints") {
      this.drag = { shape: h.shape, point: h.point, xy: [x, y], moved: false };
      this.canvas.setPointerCapture(e.pointerId);
    }
  }

  private onMove(e: PointerEvent): void {
    const [x, y] = this.at(e);
    if (this.poly.on) {
      this.poly.move(x, y);
      this.paint();
    } else if (this.drag) {
      this.drag.xy = [x, y];
      this.drag.moved = true;
      this.paint();
    }
  }

  private onUp(): void {
    if (this.poly.on) {
      const pts = this.poly.up();
      const id = this.poly.key!;
      this.poly.stop();
      if (pts) this.request("reshape", { shape: id, points: pts });
      return;
    }
    const d = this.drag;
    this.drag = null;
    if (!d || !d.moved) return;
    const s = this.model.get("shapes").find((x) => x.id === d.shape);
    if (s) s.points[d.point] = d.xy; // painted at once, Python follows
    this.request("move_point", { shape: d.shape, point: d.point, xy: d.xy });
    this.paint();
  }

  paint(): void {
    const ctx = this.ctx;
    const w = this.model.get("width");
    const h = this.model.get("height");
    ctx.clearRect(0, 0, w, h);
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
    this.drawInfo();
  }

  private drawShape(s: WireShape, pts: (Pt | null)[], edges: [number, number][],
    sel: boolean): void {
    const ctx = this.ctx;
    const r = 4 / this.scale;
    ctx.strokeStyle = STATUS_COLOUR[s.status] ?? "#ffb300";
    ctx.lineWidth = (sel ? 3 : 1.5) / this.scale;
    ctx.setLineDash(s.status === 2 ? [4 / this.scale, 3 / this.scale] : []);
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
    if (s.status === 2) return;
    pts.forEach((p, i) => {
      if (!p) return;
      ctx.beginPath();
      ctx.arc(p[0], p[1], r, 0, 2 * Math.PI);
      ctx.fillStyle = confColour(s.conf[i] ?? null);
      if (s.vis[i] === false) {
        ctx.lineWidth = 2 / this.scale;
        ctx.strokeStyle = ctx.fillStyle;
        ctx.stroke(); // occluded: a ring
      } else {
        ctx.fill();
      }
      if (s.pst[i] !== 0) { // decided points get a dark outline
        ctx.lineWidth = 1 / this.scale;
        ctx.strokeStyle = "#111";
        ctx.stroke();
      }
    });
    const sp = this.model.get("point");
    if (sel && sp >= 0 && pts[sp]) {
      const p = pts[sp]!;
      ctx.beginPath();
      ctx.arc(p[0], p[1], 2 * r, 0, 2 * Math.PI);
      ctx.lineWidth = 2 / this.scale;
      ctx.strokeStyle = "#fff";
      ctx.stroke();
      const name = this.model.get("skeleton").names[sp] ?? `point ${sp}`;
      const c = s.conf[sp];
      ctx.fillStyle = "#fff";
      ctx.fillText(`${name}${c !== null && c !== undefined ? ` ${c.toFixed(2)}` : ""}`,
        p[0] + 2 * r, p[1] - 2 * r);
    }
  }

  private drawDrawing(kp: boolean): void {
    const ctx = this.ctx;
    const pts = this.drawing!;
    ctx.fillStyle = STATUS_COLOUR[4];
    for (const p of pts) {
      if (!p) continue;
      ctx.beginPath();
      ctx.arc(p[0], p[1], 4 / this.scale, 0, 2 * Math.PI);
      ctx.fill();
    }
    const names = this.model.get("skeleton").names;
    this.message.textContent = kp
      ? `click the ${names[pts.length] ?? "last point"} (Space: not there, Enter: done)`
      : `click the next vertex (${pts.length} so far; Enter ends, Shift+Enter closes it)`;
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
    d.assist = String(this.model.get("assist"));
    if (this.drawing) d.drawing = String(this.drawing.length);
    else delete d.drawing;
    if (this.bitmap) d.painted = this.model.get("sample_id");
    this.info.textContent = `image ${this.model.get("position") + 1}/${this.model.get("total")}`
      + ` · ${shapes.length - pending} of ${shapes.length} decided`
      + (s ? ` · ${s.label} ${s.id.slice(-4)} ${["pending", "accepted", "rejected", "edited",
        "added"][s.status]}` : "")
      + (this.model.get("assist") ? "" : " · proposals hidden: they cost more than drawing")
      + (this.model.get("reviewed") ? " · reviewed" : "");
  }
}
