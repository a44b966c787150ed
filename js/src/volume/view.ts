// The volume widget: raw slices in the shared editor (../editor/kindview.ts: zoom, class list,
// requests, keys), plus what is the volume's own: slices painted through the window (presets by
// key, or a right-button drag), stepping by key, slider or wheel from the slices Python sent
// ahead, the value under the pointer (HU on CT), and box review (accept, reject, move, resize,
// draw, relabel).
import type { AnyModel } from "@anywidget/types";
import { Asked } from "../editor/asked";
import { type BoxDrag, type EditBox, dragTo, finish, startDrag, startDraw } from "../editor/boxedit";
import { paintBoxes } from "../editor/boxpaint";
import { CONTRACT, PENDING, REJECTED } from "../editor/contract";
import { el } from "../editor/dom";
import type { AttributeValue } from "../editor/attributes";
import { type AttributeTarget, KindView } from "../editor/kindview";
import { type VolumeKey, VOLUME_KEYS } from "./keys";
import type { SliceBox, VolumeActionName, VolumeFromPython, VolumeTraits } from "./types";
import { dragWindow, lut, paintGrey, type Raw, toRaw } from "./window";

const { behind: BEHIND, ahead: AHEAD, keep: KEEP } = CONTRACT.media.volume;
const PRESET_ORDER = ["soft tissue", "lung", "bone", "brain", "liver"];

function aspectOf(spacing: number[]): number {
  const [, rs, cs] = spacing.length === 3 ? spacing : [1, 1, 1];
  return rs / cs || 1;
}

export class VolumeView extends KindView<VolumeTraits, VolumeKey> {
  slider = el("input", "nblabel-volume-slider");
  slices = new Map<number, Raw>();
  /** Slices asked for and not yet here (each step asks only for the others). */
  asked = new Asked(2000);
  boxes = new Map<number, SliceBox[]>();
  k = 0;
  stepAt = 0;
  win: [number, number] = [40, 400];
  private own: [number, number] = [40, 400];
  private table: Uint8Array | null = null;
  private offscreen = document.createElement("canvas");
  private image: ImageData;
  private octx: CanvasRenderingContext2D;
  private wl: { x: number; y: number; start: [number, number] } | null = null;
  private drag: BoxDrag | null = null;
  private drawing = false;
  private greyOf = -1;
  private saveTimer = 0;
  private retry = 0;

  constructor(model: AnyModel<VolumeTraits>, host: HTMLElement) {
    super(model, host, "volume", VOLUME_KEYS,
      { minSide: 512, maxSide: 1024, aspect: aspectOf(model.get("spacing")) });
    this.slider.type = "range";
    this.slider.min = "0";
    this.slider.max = String(Math.max(0, model.get("n_slices") - 1));
    this.mount(this.slider);
    const [cols, rows] = this.size();
    this.offscreen.width = cols;
    this.offscreen.height = rows;
    this.octx = this.offscreen.getContext("2d")!;
    this.image = this.octx.createImageData(cols, rows);
    this.stage.layout();
    const w = model.get("window");
    this.own = [w[0] ?? 40, w[1] ?? 400];
    this.setWindow(this.own, false);
    this.k = model.get("slice");
    this.wire();
    this.showClasses();
    this.model.send({ kind: "hello" });
    this.go(this.k);
    this.retry = window.setInterval(() => {
      if (!this.slices.has(this.k)) this.want();
    }, 500);
  }

  size(): [number, number] {
    return [this.model.get("cols") || 1, this.model.get("rows") || 1];
  }

  protected buttons(): [string, VolumeKey][] {
    return [["▲", "prev_slice"], ["▼", "next_slice"], ["✓", "accept"], ["✗", "reject"],
      ["▭ draw", "draw"], ["done", "complete"]];
  }

  source(): CanvasImageSource | null {
    return this.slices.has(this.k) ? this.offscreen : null;
  }

  private wire(): void {
    const m = this.model;
    m.on("msg:custom", (msg: VolumeFromPython, buffers: DataView[]) => this.onMessage(msg, buffers));
    m.on("change:slice", () => {
      if (m.get("slice") !== this.k) this.go(m.get("slice"));
    });
    for (const t of ["selected", "pending", "done"] as const) {
      m.on(`change:${t}`, () => {
        this.showClasses();
        this.paint();
      });
    }
    this.slider.addEventListener("input", () => this.go(Number(this.slider.value)));
  }

  private onMessage(msg: VolumeFromPython, buffers: DataView[]): void {
    if (this.answered(msg)) return;
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
      this.showClasses();
      this.paint();
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
    if (missing.length) this.model.send({ kind: "want", slice: this.k, missing });
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

  /** The wheel steps slices, as in every radiology viewer (Ctrl+wheel zooms). */
  protected wheel(e: WheelEvent): boolean {
    this.go(this.k + (e.deltaY > 0 ? 1 : -1));
    return true;
  }

  private setWindow(w: [number, number], save = true): void {
    this.win = w;
    this.table = lut(w[0], w[1]);
    this.greyOf = -1;
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

  private act_(action: VolumeActionName, extra: Record<string, unknown> = {},
    revert: (() => void) | null = null): void {
    this.request({ kind: "act", action, slice: this.k, key: this.model.get("selected"),
      ...extra }, revert);
  }

  private select(key: string): void {
    this.model.set("selected", key);
    this.model.save_changes();
    this.showClasses();
    this.paint();
  }

  private here(): SliceBox[] {
    return this.boxes.get(this.k) ?? [];
  }

  protected selectedLabel(): string | null {
    return this.here().find((b) => b[0] === this.model.get("selected"))?.[1] ?? null;
  }

  protected attributeTarget(): AttributeTarget | null {
    const b = this.here().find((x) => x[0] === this.model.get("selected"));
    return b && b[6] !== REJECTED ? { key: b[0], label: b[1], values: b[9] ?? null } : null;
  }

  protected setAttribute(key: string, name: string, value: AttributeValue | null): void {
    this.act_("attributes", { key, values: { [name]: value } });
  }

  protected picked(label: string): void {
    const b = this.here().find((x) => x[0] === this.model.get("selected"));
    if (b && b[1] !== label && b[6] !== REJECTED) this.act_("relabel", { label });
  }

  act(a: VolumeKey | "undo" | "redo"): void {
    const here = this.here();
    const table: Record<VolumeKey | "undo" | "redo", () => void> = {
      next_slice: () => this.go(this.k + 1),
      prev_slice: () => this.go(this.k - 1),
      forward: () => this.go(this.k + 10),
      back: () => this.go(this.k - 10),
      next_pending: () => {
        const p = this.model.get("pending");
        const next = p.find((k) => k > this.k) ?? p[0];
        if (next !== undefined) this.go(next);
        else this.say("no slice has proposals left to review");
      },
      next_box: () => {
        if (!here.length) return;
        const order = [...here.filter((b) => b[6] === PENDING),
          ...here.filter((b) => b[6] !== PENDING)];
        const at = order.findIndex((b) => b[0] === this.model.get("selected"));
        this.select(order[(at + 1) % order.length][0]);
      },
      preset_1: () => this.preset(PRESET_ORDER[0]),
      preset_2: () => this.preset(PRESET_ORDER[1]),
      preset_3: () => this.preset(PRESET_ORDER[2]),
      preset_4: () => this.preset(PRESET_ORDER[3]),
      preset_5: () => this.preset(PRESET_ORDER[4]),
      preset_0: () => this.preset(null),
      accept: () => this.decideBox("accept", 1),
      reject: () => this.decideBox("reject", REJECTED),
      draw: () => {
        this.drawing = !this.drawing;
        this.root.classList.toggle("nblabel-drawing", this.drawing);
      },
      accept_rest: () => this.act_("accept_rest"),
      complete: () => this.act_("complete"),
      undo: () => this.act_("undo"),
      redo: () => this.act_("redo"),
    };
    table[a]();
  }

  /** The selected box accepted or rejected, painted at once (put back if refused). */
  private decideBox(action: "accept" | "reject", code: number): void {
    this.decideNow(() => {
      const b = this.here().find((x) => x[0] === this.model.get("selected"));
      if (!b) return null;
      const before = b[6];
      b[6] = code;
      return () => {
        b[6] = before;
      };
    }, (revert) => this.act_(action, {}, revert));
  }

  protected down(e: PointerEvent): boolean {
    this.canvas.setPointerCapture(e.pointerId);
    if (e.button === 2 || e.altKey) {
      this.wl = { x: e.clientX, y: e.clientY, start: [...this.win] as [number, number] };
      return true;
    }
    if (e.button !== 0) return false;
    const [x, y] = this.stage.toImage(e);
    if (this.drawing) {
      this.drag = startDraw(x, y);
      return true;
    }
    const boxes: EditBox[] = this.here().filter((b) => b[6] !== REJECTED)
      .map(([key, , bx, by, bw, bh]) => ({ key, box: [bx, by, bw, bh], movable: true }));
    const [sx, sy] = this.stage.stagePoint(e);
    this.drag = startDrag(this.stage.view, boxes, this.model.get("selected"), x, y, sx, sy);
    if (!this.drag) return false;
    if (this.drag.key !== this.model.get("selected")) this.select(this.drag.key);
    return true;
  }

  protected move(e: PointerEvent): void {
    if (this.wl) {
      this.setWindow(dragWindow(this.wl.start, e.clientX - this.wl.x, e.clientY - this.wl.y),
        false);
      this.paint();
      return;
    }
    const [x, y] = this.stage.toImage(e);
    if (!this.drag) {
      this.showValue(x, y);
      return;
    }
    dragTo(this.drag, x, y, ...this.size());
    this.paint();
  }

  /** The pixel value under the pointer (HU on CT), in the info line and `data-value`. */
  private showValue(x: number, y: number): void {
    const raw = this.slices.get(this.k);
    const [cols, rows] = this.size();
    const c = Math.floor(x);
    const r = Math.floor(y);
    if (!raw || c < 0 || r < 0 || c >= cols || r >= rows) {
      delete this.root.dataset.value;
      return;
    }
    const v = raw[r * cols + c];
    this.root.dataset.value = String(v);
    this.root.dataset.at = `${c},${r}`;
    this.drawInfo();
  }

  protected up(): void {
    if (this.wl) {
      this.wl = null;
      this.setWindow(this.win); // saved once, when the drag ends
      return;
    }
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    const box = finish(d, this.stage.view);
    if (d.kind === "draw") {
      this.act("draw");
      if (box) this.act_("add", { box, label: this.newLabel() });
      return this.paint();
    }
    if (!box) return this.paint();
    const b = this.here().find((x) => x[0] === d.key);
    const before = b ? ([b[2], b[3], b[4], b[5]] as const) : null;
    if (b) [b[2], b[3], b[4], b[5]] = box; // painted at once, Python follows
    this.act_("fix", { key: d.key, box }, () => { // refused or timed out: put back
      if (b && before) [b[2], b[3], b[4], b[5]] = before;
      this.paint();
    });
    this.paint();
  }

  paint(): void {
    const raw = this.slices.get(this.k);
    const ctx = this.ctx;
    const d = this.root.dataset;
    d.slice = String(this.k);
    this.stage.begin(ctx);
    ctx.imageSmoothingEnabled = false;
    if (raw) {
      if (this.greyOf !== this.k) { // the slice or the window changed: grey again
        paintGrey(raw, this.image.data, this.win[0], this.win[1], this.table);
        this.octx.putImageData(this.image, 0, 0);
        this.greyOf = this.k;
        this.stage.sourceChanged();
      }
      ctx.drawImage(this.offscreen, 0, 0);
      d.painted = String(this.k);
      if (this.stepAt) d.stepMs = (performance.now() - this.stepAt).toFixed(2);
      this.stepAt = 0;
    }
    const sel = this.model.get("selected");
    const boxes = this.here();
    paintBoxes(ctx, boxes.map(([key, label, x, y, w, h, status, , outline]) =>
      ({ key, box: [x, y, w, h], status, text: label, outline })), sel, this.drag,
    (n) => this.stage.px(n));
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.stage.painted();
    d.boxes = String(boxes.length);
    d.selected = sel;
    d.pending = String(this.model.get("pending").length);
    d.decided = String(boxes.filter((b) => b[6] !== PENDING).length);
    this.drawInfo();
  }

  private drawInfo(): void {
    const pending = this.model.get("pending");
    const done = this.model.get("done");
    const boxes = this.here();
    const [, , cs] = this.model.get("spacing");
    const v = this.root.dataset.value;
    const unit = this.model.get("modality") === "CT" ? " HU" : "";
    this.info.textContent = `slice ${this.k + 1}/${this.model.get("n_slices")}`
      + ` · window ${Math.round(this.win[0])}/${Math.round(this.win[1])}`
      + (cs ? ` · ${cs.toFixed(2)} mm/px` : "")
      + (v !== undefined ? ` · ${Number(v).toFixed(Number.isInteger(Number(v)) ? 0 : 1)}${unit}`
        + ` at ${this.root.dataset.at}` : "")
      + (this.stage.zoom > 1.001 ? ` · zoom ${Math.round(this.stage.zoom * 100)}%` : "")
      + ` · ${boxes.filter((b) => b[6] === PENDING).length} pending here`
      + ` · ${pending.length} slices to review, ${done.length} done`
      + (done.includes(this.k) ? " · reviewed" : "");
  }

  dispose(): void {
    this.leaveView();
    window.clearInterval(this.retry);
    window.clearTimeout(this.saveTimer);
  }
}
