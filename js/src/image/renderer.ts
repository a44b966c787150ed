// Drawing the boxes (2D canvas; measured against SVG in bench/dense_renderers.py).
//
// BoxLayer: every box, drawn into a canvas that sits in the image's coordinates and moves with
// it, so panning and zooming cost nothing per box (a CSS transform). When a gesture settles the
// layer is drawn again at the new scale and region (crisp lines); a decision or an edit redraws
// only the region it changed. LiveLayer: a stage-sized canvas redrawn each frame with the few
// boxes that change with the pointer: selected, multi-selected, hovered, dragged, the rubber band
// and the box being drawn. Text (labels) is drawn as text with fillText, never parsed as HTML.
import { LABEL_H, LABEL_MAX_W, MaskCache, Painter } from "./paint";
import { type LineStyle, classColour, labelText, lineStyle } from "./style";
import type { Box4, ReferenceBox, Row } from "./types";
import type { GridIndex } from "./spatial";
import { type View, handlePoint, shownHandles, visibleRegion } from "../editor/view";
import type { UiState } from "./state";
import { shown } from "./state";

const MAX_SIDE = 4096; // the box layer's largest side, device pixels
const MAX_LABELS = 800; // labels drawn at most (beyond, the image would disappear)
const LABEL_MIN_W = 44; // a box gets its label when it is this wide on screen (px) ...
const LABEL_MIN_H = 14; // ... and this high, or when labels are on for all (key l)

export type { Scene };

export interface Stats {
  boxes: number;
  labels: number;
  masks: number;
}

interface Scene {
  rows: readonly Row[];
  index: GridIndex;
  classes: readonly string[];
  reference: readonly ReferenceBox[];
  ui: UiState;
  exclude: ReadonlySet<string>; // drawn on the live layer instead (being dragged)
  get: (key: string | null) => Row | undefined;
}

type Rect = [number, number, number, number]; // x0, y0, x1, y1 in image pixels

export class BoxLayer {
  readonly canvas: HTMLCanvasElement;
  private g: CanvasRenderingContext2D;
  private region: Rect = [0, 0, 0, 0];
  private k = 0; // device pixels per image pixel of the last render
  private masks: MaskCache;
  private scene: Scene | null = null;
  private view: View | null = null;
  private stage: [number, number] = [1, 1];
  stats: Stats = { boxes: 0, labels: 0, masks: 0 };

  constructor(private onStats: (s: Stats) => void) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "nblabel-boxes";
    this.g = this.canvas.getContext("2d")!;
    this.masks = new MaskCache(() => this.render());
  }

  setScene(scene: Scene): void {
    this.scene = scene;
  }

  private dpr(): number {
    return window.devicePixelRatio || 1;
  }

  /** Whether the last render still serves this view (region covered, scale within 15%). */
  fresh(view: View, W: number, H: number): boolean {
    if (!this.k) return false;
    const [x0, y0, x1, y1] = visibleRegion(view, W, H);
    const [r0, s0, r1, s1] = this.region;
    const want = this.targetScale(view);
    const covered = (x0 >= r0 || r0 <= 0) && (y0 >= s0 || s0 <= 0) &&
      (x1 <= r1 || r1 >= this.imageW()) && (y1 <= s1 || s1 >= this.imageH());
    return covered && Math.abs(Math.log(want / this.k)) < Math.log(1.15);
  }

  private imageW(): number {
    return this.scene ? this.scene.index.width : 0;
  }

  private imageH(): number {
    return this.scene ? this.scene.index.height : 0;
  }

  private targetScale(view: View): number {
    return view.scale * this.dpr();
  }

  /** Draw every box of the region around the view (the view plus half a view on each side). */
  render(view: View | null = this.view, W = this.stage[0], H = this.stage[1]): void {
    if (!view || !this.scene) return;
    this.view = view;
    this.stage = [W, H];
    const iw = this.imageW();
    const ih = this.imageH();
    const [x0, y0, x1, y1] = visibleRegion(view, W, H);
    const mx = (x1 - x0) / 2;
    const my = (y1 - y0) / 2;
    const pad = LABEL_H / view.scale;
    const r: Rect = [Math.max(-pad, x0 - mx), Math.max(-pad, y0 - my),
      Math.min(iw + pad, x1 + mx), Math.min(ih + pad, y1 + my)];
    if (r[2] <= r[0] || r[3] <= r[1]) {
      this.canvas.width = 0;
      return;
    }
    let k = this.targetScale(view);
    k = Math.min(k, MAX_SIDE / (r[2] - r[0]), MAX_SIDE / (r[3] - r[1]));
    this.k = k;
    this.region = r;
    const cw = Math.max(1, Math.ceil((r[2] - r[0]) * k));
    const ch = Math.max(1, Math.ceil((r[3] - r[1]) * k));
    if (this.canvas.width !== cw || this.canvas.height !== ch) {
      this.canvas.width = cw;
      this.canvas.height = ch;
    } else {
      this.g.clearRect(0, 0, cw, ch);
    }
    const s = this.canvas.style;
    s.width = `${cw}px`;
    s.height = `${ch}px`;
    this.place(view);
    this.stats = this.draw(r, null);
    this.onStats(this.stats);
  }

  /**
   * Put the layer where the view shows its region: a transform of the stage-level canvas (no
   * redraw). The canvas is not inside the scaled image element: there, on a 6000 px image, the
   * compositor spent about 200 ms on every frame (measured in headless Chromium).
   */
  place(view: View): void {
    if (!this.k) return;
    const [r0, s0] = this.region;
    const m = view.scale / this.k;
    this.canvas.style.transform =
      `translate(${view.tx + r0 * view.scale}px, ${view.ty + s0 * view.scale}px) scale(${m})`;
  }

  /** Redraw what changed in image rectangles `boxes` (old and new places of changed boxes). */
  redraw(boxes: readonly Box4[]): void {
    if (!this.scene || !this.view || !this.k || !boxes.length) return;
    const px = 1 / this.k * this.dpr();
    let u: Rect = [Infinity, Infinity, -Infinity, -Infinity];
    for (const b of boxes) {
      u = [Math.min(u[0], b[0]), Math.min(u[1], b[1]), Math.max(u[2], b[0] + b[2]),
        Math.max(u[3], b[1] + b[3])];
    }
    // Margins: line width, and the label drawn above a box and to its right.
    u = [u[0] - 4 * px, u[1] - (LABEL_H + 4) * px, u[2] + LABEL_MAX_W * px, u[3] + 4 * px];
    const [r0, s0, r1, s1] = this.region;
    const area = (u[2] - u[0]) * (u[3] - u[1]);
    if (area > 0.3 * (r1 - r0) * (s1 - s0)) {
      this.render();
      return;
    }
    this.draw(u, u); // the totals in `stats` stay those of the last full render
  }

  private draw(r: Rect, clip: Rect | null): Stats {
    const scene = this.scene!;
    const g = this.g;
    const p = new Painter(g, this.k, this.region[0] * this.k, this.region[1] * this.k, this.dpr());
    g.save();
    if (clip) {
      const cx = p.X(clip[0]);
      const cy = p.Y(clip[1]);
      const cw = p.X(clip[2]) - cx;
      const chh = p.Y(clip[3]) - cy;
      g.beginPath();
      g.rect(cx, cy, cw, chh);
      g.clip();
      g.clearRect(cx, cy, cw, chh);
    }
    // Boxes whose label may reach into r lie up to a label's height below and its width left.
    const px = this.dpr() / this.k;
    const ids = scene.index.query(r[0] - LABEL_MAX_W * px, r[1], r[2], r[3] + LABEL_H * px);
    const groups = new Map<string, { colour: string; style: LineStyle; path: Path2D }>();
    const labels: number[] = [];
    let masks = 0;
    let boxes = 0;
    const viewScale = this.k / this.dpr();
    for (const i of ids) {
      const row = scene.rows[i];
      if (!row || scene.exclude.has(row.key)) continue;
      if (!shown(row, scene.ui) && row.visible) continue;
      if (!row.visible && (scene.ui.hideDecided || scene.ui.onlyClass !== null)) continue;
      const colour = classColour(scene.classes, row.label);
      const st = lineStyle(row);
      const gk = `${colour}|${st.width}|${st.dash.join(",")}|${st.alpha}|${st.fill}`;
      let grp = groups.get(gk);
      if (!grp) groups.set(gk, (grp = { colour, style: st, path: new Path2D() }));
      p.rect(grp.path, row.box);
      boxes++;
      if (row.mask && row.status !== "rejected") {
        const tinted = this.masks.get(row.mask, colour);
        if (tinted) {
          g.globalAlpha = 0.45;
          g.drawImage(tinted, p.X(row.box[0]), p.Y(row.box[1]),
            Math.max(1, p.X(row.box[0] + row.box[2]) - p.X(row.box[0])),
            Math.max(1, p.Y(row.box[1] + row.box[3]) - p.Y(row.box[1])));
          g.globalAlpha = 1;
          masks++;
        }
      }
      const big = row.box[2] * viewScale >= LABEL_MIN_W && row.box[3] * viewScale >= LABEL_MIN_H;
      if (row.visible && (big || scene.ui.allLabels)) labels.push(i);
    }
    for (const grp of groups.values()) p.stroke(grp.path, grp.colour, grp.style);
    // Reference boxes (truth the model missed): dashed, always labelled.
    for (const ref of scene.reference) {
      const colour = classColour(scene.classes, ref.label);
      const path = new Path2D();
      p.rect(path, ref.box);
      p.stroke(path, colour, { width: 2, dash: [8, 4], alpha: 0.9, fill: 0 });
      p.label(`${ref.label} (${ref.kind})`, colour, ref.box);
    }
    let drawnLabels = 0;
    if (labels.length <= MAX_LABELS || scene.ui.allLabels) {
      for (const i of labels.slice(0, scene.ui.allLabels ? 5 * MAX_LABELS : MAX_LABELS)) {
        const row = scene.rows[i];
        p.label(labelText(row), classColour(scene.classes, row.label), row.box);
        drawnLabels++;
      }
    }
    g.restore();
    return { boxes, labels: drawnLabels, masks };
  }
}

export interface Live {
  selected: string | null;
  dragBox: Box4 | null; // the box being moved or resized, where it is now
  band: Box4 | null; // rubber band
  draft: Box4 | null; // box being drawn
  /** Click to mask: the prompt (box, points) and the draft mask Python made for it. */
  seg: SegDraft | null;
  /** A brush stroke on its way (image pixels). */
  brush: { points: [number, number][]; radius: number; erase: boolean } | null;
  /** The selected mask as a polygon being edited (image pixels). */
  polygon: [number, number][] | null;
  /** Decisions on their way (painted before Python's answer): drawn here, over the box layer,
   *  so showing one costs a stage-sized redraw, not a redraw of the large box layer. */
  sending?: readonly Row[];
}

export interface SegDraft {
  box: Box4 | null;
  points: [number, number, boolean][];
  mask: HTMLCanvasElement | null;
  maskBox: Box4 | null;
}

/** The few boxes that follow the pointer, drawn in stage coordinates each frame. */
export class LiveLayer {
  readonly canvas: HTMLCanvasElement;
  private g: CanvasRenderingContext2D;

  constructor() {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "nblabel-live";
    this.g = this.canvas.getContext("2d")!;
  }

  draw(view: View, W: number, H: number, scene: Scene, live: Live): void {
    const dpr = window.devicePixelRatio || 1;
    const cw = Math.round(W * dpr);
    const ch = Math.round(H * dpr);
    if (this.canvas.width !== cw || this.canvas.height !== ch) {
      this.canvas.width = cw;
      this.canvas.height = ch;
      this.canvas.style.width = `${W}px`;
      this.canvas.style.height = `${H}px`;
    } else {
      this.g.clearRect(0, 0, cw, ch);
    }
    const k = view.scale * dpr;
    const p = new Painter(this.g, k, -view.tx * dpr, -view.ty * dpr, dpr);
    const { ui, classes } = scene;
    const byKey = scene.get;
    // Multi-selection: thick outline and a tint, one path per class colour.
    const groups = new Map<string, Path2D>();
    for (const key of ui.multi) {
      const row = byKey(key);
      if (!row || row.key === live.selected) continue;
      const colour = classColour(classes, row.label);
      let path = groups.get(colour);
      if (!path) groups.set(colour, (path = new Path2D()));
      p.rect(path, row.box);
    }
    for (const [colour, path] of groups) {
      p.stroke(path, "#ffffff", { width: 4, dash: [], alpha: 0.9, fill: 0 });
      p.stroke(path, colour, { width: 2, dash: [], alpha: 1, fill: 0.25 });
    }
    // Decisions on their way: a white halo and the status's look (short dashes, half tint).
    for (const row of live.sending ?? []) {
      if (row.key === live.selected) continue;
      const colour = classColour(classes, row.label);
      const path = new Path2D();
      p.rect(path, row.box);
      p.stroke(path, "#ffffff", { width: 3, dash: [], alpha: 0.6, fill: 0 });
      p.stroke(path, colour, lineStyle(row));
    }
    const hover = byKey(ui.hover);
    if (hover && hover.key !== live.selected) {
      const colour = classColour(classes, hover.label);
      const path = new Path2D();
      p.rect(path, hover.box);
      p.stroke(path, colour, { width: 2, dash: [], alpha: 1, fill: 0.08 });
      p.label(labelText(hover), colour, hover.box);
    }
    const sel = byKey(live.selected);
    if (sel && !sel.unusable) {
      const box = live.dragBox ?? sel.box;
      const colour = classColour(classes, sel.label);
      if (sel.originalBox && sel.status === "edited") {
        const o = new Path2D();
        p.rect(o, sel.originalBox);
        p.stroke(o, colour, { width: 1, dash: [2, 3], alpha: 0.7, fill: 0 });
      }
      const path = new Path2D();
      p.rect(path, box);
      p.stroke(path, "#ffffff", { width: 5, dash: [], alpha: 0.8, fill: 0 });
      p.stroke(path, colour, { width: 3,
        dash: sel.sending ? [3, 3] : sel.status === "rejected" ? [6, 3] : [], alpha: 1,
        fill: 0.1 });
      p.label(labelText(sel), colour, box);
      if (sel.status !== "rejected" && !live.polygon) {
        // A small box on screen keeps its corners only, a sliver none (zooming in brings them
        // back): the same rule the pointer's hit test uses.
        p.handles(shownHandles(box, view.scale).map((h) => handlePoint(box, h)), 8);
      }
    }
    const seg = live.seg;
    if (seg) {
      const g = this.g;
      if (seg.mask && seg.maskBox) {
        const [x, y, w, h] = seg.maskBox;
        g.globalAlpha = 0.5;
        g.imageSmoothingEnabled = false;
        g.drawImage(seg.mask, p.X(x), p.Y(y), p.X(x + w) - p.X(x), p.Y(y + h) - p.Y(y));
        g.globalAlpha = 1;
      }
      if (seg.box) {
        const path = new Path2D();
        p.rect(path, seg.box);
        p.stroke(path, "#ffffff", { width: 2, dash: [6, 3], alpha: 1, fill: 0 });
      }
      for (const [x, y, positive] of seg.points) {
        g.beginPath();
        g.arc(p.X(x), p.Y(y), 5 * dpr, 0, 2 * Math.PI);
        g.fillStyle = positive ? "#22c55e" : "#ef4444";
        g.fill();
        g.lineWidth = 1.5 * dpr;
        g.strokeStyle = "#ffffff";
        g.stroke();
      }
    }
    if (live.polygon && live.polygon.length) {
      const path = new Path2D();
      live.polygon.forEach(([x, y], i) => (i ? path.lineTo(p.X(x), p.Y(y)) : path.moveTo(p.X(x), p.Y(y))));
      path.closePath();
      const colour = sel ? classColour(classes, sel.label) : "#22c55e";
      p.stroke(path, "#ffffff", { width: 3, dash: [], alpha: 1, fill: 0 });
      p.stroke(path, colour, { width: 1.5, dash: [], alpha: 1, fill: 0 });
      p.handles(live.polygon, 6);
    }
    if (live.brush && live.brush.points.length) {
      const g = this.g;
      g.globalAlpha = 0.5;
      g.fillStyle = live.brush.erase ? "#000000" : "#ffffff";
      for (const [x, y] of live.brush.points) {
        g.beginPath();
        g.arc(p.X(x), p.Y(y), Math.max(1, live.brush.radius * k), 0, 2 * Math.PI);
        g.fill();
      }
      g.globalAlpha = 1;
    }
    for (const [b, dash] of [[live.band, [4, 3]], [live.draft, [5, 3]]] as const) {
      if (!b) continue;
      const path = new Path2D();
      p.rect(path, b);
      p.stroke(path, "#ffffff", { width: 2, dash: [...dash], alpha: 1, fill: 0.12 });
    }
  }
}
