// The volume widget's controller: raw slices painted through the window on a canvas, a slider,
// window/level by preset keys or a right-button drag, and box review (accept, reject, move,
// draw). Python decides what an action changes and sends the boxes back; stepping, window
// changes and dragging stay in the browser, from the slices Python sent ahead.
import type { AnyModel } from "@anywidget/types";
import { Asked } from "../asked";
import { el } from "../dom";
import { helpPanel, keepInput, panelRoot } from "../panel";
import { type VolumeKey, VOLUME_KEYS } from "./keys";
import type { SliceBox, VolumeActionName, VolumeFromPython, VolumeToPython, VolumeTraits } from "./types";
import { dragWindow, lut, paintGrey, type Raw, toRaw } from "./window";

const STATUS_COLOUR = ["#ffb300", "#2e7d32", "#9e9e9e", "#1565c0", "#6a1b9a"];
const BEHIND = 16;
const AHEAD = 40;
const KEEP = 96;
const PRESET_ORDER = ["soft tissue", "lung", "bone", "brain", "liver"];

export class VolumeView {
  root = panelRoot("volume");
  info = el("div", "nblabel-volume-info");
  canvas = el("canvas", "nblabel-volume-canvas");
  slider = el("input", "nblabel-volume-slider");
  message = el("div", "nblabel-message");
  help = helpPanel(VOLUME_KEYS.help());
  slices = new Map<number, Raw>();
  /** Slices asked for and not yet here (each step asks only for the others). */
  asked = new Asked(2000);
  boxes = new Map<number, SliceBox[]>();
  k = 0;
  seq = 0;
  stepAt = 0;
  win: [number, number] = [40, 400];
  private own: [number, number] = [40, 400];
  private table: Uint8Array | null = null;
  private offscreen = document.createElement("canvas");
  private image: ImageData;
  private ctx: CanvasRenderingContext2D;
  private octx: CanvasRenderingContext2D;
  private sx = 1;
  private sy = 1;
  private wl: { x: number; y: number; start: [number, number] } | null = null;
  private drag: { key: string; box: [number, number, number, number]; x: number; y: number;
    corner: boolean; moved: boolean } | null = null;
  private drawing = false;
  private saveTimer = 0;
  private retry = 0;

  constructor(public model: AnyModel<VolumeTraits>, host: HTMLElement) {
    this.slider.type = "range";
    this.slider.min = "0";
    this.slider.max = String(Math.max(0, model.get("n_slices") - 1));
    this.root.append(this.info, this.canvas, this.slider, this.message, this.help);
    host.appendChild(this.root);
    const rows = model.get("rows") || 1;
    const cols = model.get("cols") || 1;
    this.offscreen.width = cols;
    this.offscreen.height = rows;
    this.octx = this.offscreen.getContext("2d")!;
    this.image = this.octx.createImageData(cols, rows);
    this.ctx = this.canvas.getContext("2d")!;
    // The canvas keeps the pixels' aspect (row and column spacing), at least 512 px wide.
    const [, rs, cs] = model.get("spacing").length === 3 ? model.get("spacing") : [1, 1, 1];
    const scale = Math.max(1, 512 / cols);
    this.sx = scale;
    this.sy = scale * (rs / cs || 1);
    this.canvas.width = Math.round(cols * this.sx);
    this.canvas.height = Math.round(rows * this.sy);
    this.ctx.imageSmoothingEnabled = false;
    const w = model.get("window");
    this.own = [w[0] ?? 40, w[1] ?? 400];
    this.setWindow(this.own, false);
    this.k = model.get("slice");
    this.message.textContent = model.get("message"); // e.g. what was wrong with the input
    this.wire();
    this.send({ kind: "hello" });
    this.go(this.k);
    this.retry = window.setInterval(() => {
      if (!this.slices.has(this.k)) this.want();
    }, 500);
  }

  private send(m: VolumeToPython): void {
    this.model.send(m);
  }

  private wire(): void {
    const m = this.model;
    m.on("msg:custom", (msg: VolumeFromPython, buffers: DataView[]) => this.onMessage(msg, buffers));
    m.on("change:slice", () => {
      if (m.get("slice") !== this.k) this.go(m.get("slice"));
    });
    for (const t of ["selected", "pending", "done"] as const) m.on(`change:${t}`, () => this.paint());
    m.on("change:message", () => {
      this.message.textContent = m.get("message");
    });
    this.slider.addEventListener("input", () => this.go(Number(this.slider.value)));
    keepInput(this.root, (e) => {
      const action = VOLUME_KEYS.action(e);
      if (action) this.act(action);
      return action !== null;
    });
    this.canvas.addEventListener("pointerdown", (e) => this.onDown(e));
    this.canvas.addEventListener("pointermove", (e) => this.onMove(e));
    this.canvas.addEventListener("pointerup", () => this.onUp());
  }

  private onMessage(msg: VolumeFromPython, buffers: DataView[]): void {
    if (msg.kind === "slices") {
      msg.numbers.forEach((k, i) => {
        this.boxes.set(k, msg.boxes[String(k)] ?? []);
        void toRaw(buffers[i], msg.dtypes[i]).then((raw) => {
          this.asked.arrived(k);
          this.slices.set(k, raw);
          if (k === this.k) this.paint();
        });
      });
      this.forget();
    } else if (msg.kind === "boxes") {
      for (const [k, bs] of Object.entries(msg.slices)) this.boxes.set(Number(k), bs);
      this.paint();
    } else if (msg.kind === "answer") {
      delete this.root.dataset.busy;
      this.message.textContent = msg.error ?? "";
    }
  }

  /** Slices far from the one shown are dropped (memory stays bounded on long series). */
  private forget(): void {
    if (this.slices.size <= KEEP) return;
    for (const k of [...this.slices.keys()]) {
      if (Math.abs(k - this.k) > KEEP / 2) this.slices.delete(k);
    }
  }

  private want(): void {
    const n = this.model.get("n_slices");
    const missing = this.asked.missing(Math.max(0, this.k - BEHIND),
      Math.min(n - 1, this.k + AHEAD), (k) => this.slices.has(k));
    if (missing.length) this.send({ kind: "want", slice: this.k, missing });
  }

  go(k: number): void {
    const n = this.model.get("n_slices");
    this.k = Math.min(n - 1, Math.max(0, Math.round(k)));
    this.slider.value = String(this.k);
    this.stepAt = performance.now();
    this.paint();
    this.want();
    window.clearTimeout(this.saveTimer);
    this.saveTimer = window.setTimeout(() => {
      this.model.set("slice", this.k);
      this.model.save_changes();
    }, 300);
  }

  private setWindow(w: [number, number], save = true): void {
    this.win = w;
    this.table = lut(w[0], w[1]);
    this.root.dataset.window = `${Math.round(w[0])}/${Math.round(w[1])}`;
    if (save) {
      this.model.set("window", [w[0], w[1]]);
      this.model.save_changes();
    }
  }

  private preset(name: string | null): void {
    const p = name ? this.model.get("presets")[name] : null;
    this.setWindow(p ? [p[0], p[1]] : this.own);
    this.paint();
  }

  private request(action: VolumeActionName, extra: Partial<Extract<VolumeToPython,
    { kind: "act" }>> = {}): void {
    this.root.dataset.busy = "true";
    this.send({ kind: "act", seq: ++this.seq, action, slice: this.k,
      key: this.model.get("selected"), ...extra });
  }

  private select(key: string): void {
    this.model.set("selected", key);
    this.model.save_changes();
    this.paint();
  }

  act(a: VolumeKey): void {
    const here = this.boxes.get(this.k) ?? [];
    const table: Record<VolumeKey, () => void> = {
      next_slice: () => this.go(this.k + 1),
      prev_slice: () => this.go(this.k - 1),
      forward: () => this.go(this.k + 10),
      back: () => this.go(this.k - 10),
      next_pending: () => {
        const p = this.model.get("pending");
        const next = p.find((k) => k > this.k) ?? p[0];
        if (next !== undefined) this.go(next);
        else this.message.textContent = "no slice has proposals left to review";
      },
      next_box: () => {
        if (!here.length) return;
        const order = [...here.filter((b) => b[6] === 0), ...here.filter((b) => b[6] !== 0)];
        const at = order.findIndex((b) => b[0] === this.model.get("selected"));
        this.select(order[(at + 1) % order.length][0]);
      },
      preset_1: () => this.preset(PRESET_ORDER[0]),
      preset_2: () => this.preset(PRESET_ORDER[1]),
      preset_3: () => this.preset(PRESET_ORDER[2]),
      preset_4: () => this.preset(PRESET_ORDER[3]),
      preset_5: () => this.preset(PRESET_ORDER[4]),
      preset_0: () => this.preset(null),
      accept: () => this.request("accept"),
      reject: () => this.request("reject"),
      draw: () => {
        this.drawing = !this.drawing;
        this.root.classList.toggle("nblabel-drawing", this.drawing);
      },
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

  private at(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (this.canvas.width / r.width) / this.sx,
      (e.clientY - r.top) * (this.canvas.height / r.height) / this.sy];
  }

  private onDown(e: PointerEvent): void {
    this.canvas.setPointerCapture(e.pointerId);
    if (e.button === 2 || e.altKey) {
      this.wl = { x: e.clientX, y: e.clientY, start: [...this.win] as [number, number] };
      return;
    }
    const [x, y] = this.at(e);
    if (this.drawing) {
      this.drag = { key: "", box: [x, y, 1, 1], x, y, corner: true, moved: false };
      return;
    }
    const here = (this.boxes.get(this.k) ?? []).filter((b) => b[6] !== 2);
    const inside = here.filter(([, , bx, by, bw, bh]) =>
      x >= bx - 4 && x <= bx + bw + 4 && y >= by - 4 && y <= by + bh + 4);
    const b = inside.find((c) => c[0] === this.model.get("selected")) ?? inside[0];
    if (!b) return;
    if (b[0] !== this.model.get("selected")) this.select(b[0]);
    const corner = Math.abs(x - (b[2] + b[4])) < 6 && Math.abs(y - (b[3] + b[5])) < 6;
    this.drag = { key: b[0], box: [b[2], b[3], b[4], b[5]], x, y, corner, moved: false };
  }

  private onMove(e: PointerEvent): void {
    if (this.wl) {
      this.setWindow(dragWindow(this.wl.start, e.clientX - this.wl.x, e.clientY - this.wl.y),
        false);
      this.paint();
      return;
    }
    if (!this.drag) return;
    const [x, y] = this.at(e);
    const d = this.drag;
    const [bx, by, bw, bh] = d.box;
    d.box = d.corner ? [bx, by, Math.max(1, bw + x - d.x), Math.max(1, bh + y - d.y)]
      : [bx + x - d.x, by + y - d.y, bw, bh];
    d.x = x;
    d.y = y;
    d.moved = true;
    this.paint();
  }

  private onUp(): void {
    if (this.wl) {
      this.wl = null;
      this.setWindow(this.win); // saved once, when the drag ends
      return;
    }
    const d = this.drag;
    this.drag = null;
    if (!d || !d.moved) return;
    if (this.drawing) {
      this.act("draw");
      if (d.box[2] > 2 && d.box[3] > 2) this.request("add", { box: d.box });
      return;
    }
    const b = (this.boxes.get(this.k) ?? []).find((x) => x[0] === d.key);
    if (b) [b[2], b[3], b[4], b[5]] = d.box; // painted at once, Python follows
    this.request("fix", { key: d.key, box: d.box });
    this.paint();
  }

  paint(): void {
    const raw = this.slices.get(this.k);
    const ctx = this.ctx;
    const d = this.root.dataset;
    d.slice = String(this.k);
    if (raw) {
      paintGrey(raw, this.image.data, this.win[0], this.win[1], this.table);
      this.octx.putImageData(this.image, 0, 0);
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.drawImage(this.offscreen, 0, 0, this.canvas.width, this.canvas.height);
      d.painted = String(this.k);
      if (this.stepAt) d.stepMs = (performance.now() - this.stepAt).toFixed(2);
      this.stepAt = 0;
    }
    ctx.setTransform(this.sx, 0, 0, this.sy, 0, 0);
    const sel = this.model.get("selected");
    const boxes = this.boxes.get(this.k) ?? [];
    for (const [key, label, x, y, w, h, status, , outline] of boxes) {
      const box = this.drag && this.drag.key === key ? this.drag.box : [x, y, w, h];
      ctx.lineWidth = (key === sel ? 3 : 1.5) / this.sx;
      ctx.strokeStyle = STATUS_COLOUR[status] ?? "#ffb300";
      ctx.setLineDash(status === 2 ? [4 / this.sx, 3 / this.sx] : []);
      ctx.strokeRect(box[0], box[1], box[2], box[3]);
      if (outline && outline.length > 2 && status !== 2) {
        ctx.beginPath();
        outline.forEach(([px, py], i) => (i ? ctx.lineTo(px, py) : ctx.moveTo(px, py)));
        ctx.closePath();
        ctx.globalAlpha = 0.3;
        ctx.fillStyle = ctx.strokeStyle;
        ctx.fill();
        ctx.globalAlpha = 1;
      }
      ctx.font = `${Math.round(11 / this.sx)}px sans-serif`;
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(label, box[0], box[1] - 2 / this.sy);
    }
    ctx.setLineDash([]);
    if (this.drag && this.drawing) {
      ctx.strokeStyle = STATUS_COLOUR[4];
      ctx.strokeRect(...this.drag.box);
    }
    d.boxes = String(boxes.length);
    d.selected = sel;
    const pending = this.model.get("pending");
    const done = this.model.get("done");
    d.pending = String(pending.length);
    const [, , cs] = this.model.get("spacing");
    this.info.textContent = `slice ${this.k + 1}/${this.model.get("n_slices")}`
      + ` · window ${Math.round(this.win[0])}/${Math.round(this.win[1])}`
      + (cs ? ` · ${cs.toFixed(2)} mm/px` : "")
      + ` · ${boxes.filter((b) => b[6] === 0).length} pending here`
      + ` · ${pending.length} slices to review, ${done.length} done`
      + (done.includes(this.k) ? " · reviewed" : "");
  }

  dispose(): void {
    window.clearInterval(this.retry);
    window.clearTimeout(this.saveTimer);
  }
}
