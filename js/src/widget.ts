// The controller: wires the model (traits and messages) to the state, the renderers, the pointer
// and the keys. Python decides (visibility, next pending box, completion) and sends the result;
// this module displays it and sends decisions. Drag, pan and zoom stay in the browser; only
// decisions and navigation go to Python. A box shows as decided only once Python's answer (the
// rows it changed, after journaling them) arrives; decisions made while one is on its way wait
// for that answer, so each applies to the selection Python chose.
import type { AnyModel } from "@anywidget/types";
import { type Chrome, buildChrome } from "./chrome";
import { el } from "./dom";
import { type Entry, ImageCache, decode } from "./imagecache";
import { type KeyAction, lookup } from "./keymap";
import { Minimap } from "./minimap";
import { attachPointer, type PointerHost } from "./pointer";
import { MaskTools } from "./masktools";
import { type Sender, createSender, decodeRows } from "./protocol";
import { BoxLayer, LiveLayer, type Scene, type Stats } from "./renderer";
import { RowList } from "./rowlist";
import { GridIndex } from "./spatial";
import { RowStore, createUi, shown, stepKey, targetKeys } from "./state";
import type { Box4, Decidable, FromPython, ImageMeta, ModelTraits, Row } from "./types";
import {
  centreOn, clipBox, createView, fit, fitRegion, zoomAt,
} from "./view";

const SETTLE_MS = 90; // the box layer is drawn again this long after the view stops moving

export class ReviewView {
  private c: Chrome;
  private send: Sender;
  private view = createView();
  private ui = createUi();
  private store = new RowStore();
  private index = new GridIndex(1, 1);
  private cache = new ImageCache(12);
  private boxes: BoxLayer;
  private live = new LiveLayer();
  private minimap: Minimap;
  private list: RowList;
  private exclude = new Set<string>();
  private pendingEdit: { key: string; box: Box4 } | null = null;
  private width = 0;
  private height = 0;
  private position: number;
  private shownAt = performance.now();
  private fullRes = false;
  /** Nothing is proposed on the image on screen: drawing is the default action. */
  private drawFirst = false;
  /** A class typed in the new-class box, selected once Python has added it. */
  private pendingClass: string | null = null;
  /** The class of the next box drawn (the class list while drawing, or a class just added). */
  private drawClass: string | null = null;
  /** Click to mask, brush and polygon editing (masktools.ts). */
  private masks: MaskTools;
  private fullResAsked = false;
  private fitted = false;
  private awaiting: number | null = null;
  private queued: (() => void)[] = [];
  private lastFull: { sampleId: string; rows: Row[]; selected: string | null } | null = null;
  private counts = { pending: 0, hidden: 0 }; // of the rows on screen, counted when they change
  private listSelected: string | null = null;
  private listMulti = 0; // size of the multi-selection the list was last painted with
  private frame = 0;
  private settleTimer = 0;
  private saveTimer = 0;
  private answerTimer = 0;
  private disposers: (() => void)[] = [];
  private imageCtx: CanvasRenderingContext2D;

  constructor(private model: AnyModel<ModelTraits>, host: HTMLElement) {
    this.c = buildChrome(host, (a) => this.act(a, 0));
    this.send = createSender(model);
    this.position = model.get("position");
    this.imageCtx = this.c.image.getContext("2d")!;
    this.masks = new MaskTools({
      root: this.c.root,
      send: this.send,
      sampleId: () => this.store.sampleId,
      selected: () => this.selected,
      size: () => [this.width, this.height],
      scale: () => this.view.scale,
      classes: () => this.classes(),
      newLabel: () => this.newLabel(),
      seconds: () => this.seconds(),
      toolChanged: (on) => {
        this.ui.drawing = on ? false : this.drawFirst;
        this.c.root.classList.toggle("nblabel-drawing", this.ui.drawing);
      },
      liveChanged: () => this.liveChanged(),
      painted: () => this.painted(),
      whenAnswered: (fn) => this.whenAnswered(fn),
      sent: () => this.sent(),
    });
    this.boxes = new BoxLayer((s) => this.showStats(s));
    this.c.stage.append(this.boxes.canvas, this.live.canvas);
    this.minimap = new Minimap((x, y) => {
      const [W, H] = this.stageSize();
      centreOn(this.view, x, y, W, H);
      this.viewChanged();
    });
    this.c.stage.append(this.minimap.canvas);
    this.list = new RowList((key, toggle) => {
      this.select(key, toggle);
      this.c.root.focus({ preventScroll: true });
    });
    this.c.side.append(this.list.el);
    this.wire();
  }

  // ---- state access ------------------------------------------------------------------------
  private get selected(): string | null {
    return this.model.get("selected") || null;
  }

  /** Select `key` and tell Python; the change handler redraws. False when nothing changed. */
  private setSelected(key: string | null): boolean {
    if ((key || "") === (this.model.get("selected") || "")) return false;
    this.model.set("selected", key || "");
    // Python needs the selection only to restore it (a reload) and to follow it in proposal
    // mode; decisions name their boxes. Walking with Tab sends it once the keys rest.
    clearTimeout(this.saveTimer);
    this.saveTimer = window.setTimeout(() => this.model.save_changes(), 120);
    return true;
  }

  private classes(): string[] {
    return this.model.get("classes") || [];
  }

  private seconds(): number {
    return (performance.now() - this.shownAt) / 1000;
  }

  private stageSize(): [number, number] {
    return [this.c.stage.clientWidth || 640, this.c.stage.clientHeight || 480];
  }

  private scene(): Scene {
    return {
      rows: this.store.rows, index: this.index, classes: this.classes(),
      reference: this.model.get("reference") || [], ui: this.ui, exclude: this.exclude,
      get: (key) => this.store.get(key),
    };
  }

  // ---- drawing -----------------------------------------------------------------------------
  private showStats(s: Stats): void {
    const d = this.c.root.dataset;
    d.boxesDrawn = String(s.boxes);
    d.labelsDrawn = String(s.labels);
    d.masksDrawn = String(s.masks);
  }

  /** Draw the live layer (and the minimap) on the next frame; one draw per frame at most. */
  private liveChanged(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const [W, H] = this.stageSize();
      const drag = this.ui.drag;
      this.live.draw(this.view, W, H, this.scene(), {
        selected: this.selected,
        dragBox: drag && drag.kind === "box" && drag.moved ? drag.box
          : this.pendingEdit && this.pendingEdit.key === this.selected ? this.pendingEdit.box : null,
        band: drag && drag.kind === "band" ? drag.box : null,
        draft: drag && drag.kind === "draw" ? drag.box : null,
        ...this.masks.live(),
      });
      this.minimap.draw(this.view, W, H);
    });
  }

  /** The view moved: the image and the box layer follow by a transform; redraw when settled. */
  private viewChanged(): void {
    const v = this.view;
    this.c.world.style.transform = `translate(${v.tx}px, ${v.ty}px) scale(${v.scale})`;
    this.boxes.place(v);
    this.c.zoomText.textContent = `${Math.round(v.scale * 100)}%`;
    this.c.root.dataset.scale = String(v.scale);
    this.askFullRes();
    this.liveChanged();
    clearTimeout(this.settleTimer);
    const [W, H] = this.stageSize();
    if (!this.boxes.fresh(v, W, H)) {
      this.settleTimer = window.setTimeout(() => {
        const [w2, h2] = this.stageSize();
        if (!this.boxes.fresh(this.view, w2, h2)) this.boxes.render(this.view, w2, h2);
      }, SETTLE_MS);
    }
  }

  private renderAll(): void {
    const [W, H] = this.stageSize();
    this.boxes.setScene(this.scene());
    this.boxes.render(this.view, W, H);
    this.liveChanged();
    this.updateList(true);
    this.drawInfo();
  }

  private listState() {
    return { rows: this.store.rows, reference: this.model.get("reference") || [],
      classes: this.classes(), selected: this.selected, multi: this.ui.multi };
  }

  private updateList(follow: boolean): void {
    this.countRows();
    this.list.update(this.listState(), follow);
    this.listSelected = this.selected;
    this.listMulti = this.ui.multi.size;
  }

  private countRows(): void {
    let pending = 0;
    let hidden = 0;
    for (const r of this.store.rows) {
      if (!r.visible) hidden++;
      else if (r.status === "pending") pending++;
    }
    this.counts = { pending, hidden };
  }

  /** Tell tests and benchmarks when what changed is on screen: the next animation frame renders
   *  it, and a task posted from that frame runs once it has been drawn. */
  private painted(seq: number | null = null, received: number | null = null): void {
    const sid = this.store.sampleId;
    requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        if (sid !== this.store.sampleId) return;
        this.c.root.dataset.paintedSample = sid || "";
        if (seq !== null) this.c.root.dataset.paintedSeq = String(seq);
        this.c.root.dispatchEvent(new CustomEvent("nblabel:painted",
          { detail: { sampleId: sid, seq, received, t: performance.now() } }));
      };
      ch.port2.postMessage(0);
    });
  }

  // ---- images ------------------------------------------------------------------------------
  private drawBitmap(bitmap: ImageBitmap | null): void {
    const cv = this.c.image;
    if (!bitmap) {
      cv.width = 0;
      cv.height = 0;
      return;
    }
    if (cv.width !== bitmap.width || cv.height !== bitmap.height) {
      cv.width = bitmap.width;
      cv.height = bitmap.height;
    }
    this.imageCtx.drawImage(bitmap, 0, 0);
    this.minimap.setImage(cv, this.width, this.height); // the canvas keeps the pixels
  }

  /** Show an image with its rows; `image` is a bitmap, a promise of one, or null. */
  private display(meta: ImageMeta, image: ImageBitmap | Promise<ImageBitmap | null> | null,
    rows: Row[], selected: string | null): void {
    const c = this.c;
    this.store.setAll(meta.sample_id, rows);
    this.width = meta.image_width || 0;
    this.height = meta.image_height || 0;
    this.reindex();
    this.ui.multi.clear();
    this.ui.hover = null;
    this.ui.drag = null;
    this.masks.reset();
    this.drawFirst = Boolean(meta.draw_first);
    this.ui.drawing = this.drawFirst;
    this.exclude.clear();
    this.pendingEdit = null;
    c.root.classList.toggle("nblabel-drawing", this.drawFirst);
    c.root.dataset.drawFirst = String(this.drawFirst);
    c.root.dataset.sampleId = meta.sample_id;
    c.filename.textContent = meta.filename || "";
    const err = meta.image_error;
    c.root.classList.toggle("nblabel-has-error", Boolean(err));
    c.errorBox.textContent = err ? `Cannot show this image: ${err}` : "";
    c.world.style.display = err ? "none" : "";
    this.drawClassPanel(meta);
    this.shownAt = performance.now();
    this.fullRes = !meta.image_preview;
    this.fullResAsked = false;
    delete c.root.dataset.fullRes;
    const sid = meta.sample_id;
    if (image instanceof Promise) {
      this.drawBitmap(null);
      image.then((bitmap) => {
        if (sid !== this.store.sampleId) return;
        this.drawBitmap(bitmap);
        this.painted();
      });
    } else {
      this.drawBitmap(image);
    }
    c.world.style.width = `${this.width}px`;
    c.world.style.height = `${this.height}px`;
    if (selected !== null) this.setSelected(selected);
    this.fitted = false;
    this.layout();
    this.renderAll();
    if (!(image instanceof Promise)) this.painted();
  }

  private layout(): void {
    // Stage height: the image fitted to the cell width, at most 72% of the window.
    const stage = this.c.stage;
    const W = stage.clientWidth || 640;
    const aspect = this.width && this.height ? this.height / this.width : 0.75;
    const H = Math.max(200, Math.min(window.innerHeight * 0.72, W * aspect,
      Math.max(this.height, 480)));
    stage.style.height = `${Math.round(H)}px`;
    this.c.side.style.height = `${Math.round(H)}px`;
    if (!this.fitted) {
      if (this.model.get("mode") === "proposal" && this.store.get(this.selected)) {
        this.focusSelected();
      } else {
        fit(this.view, this.width || 1, this.height || 1, W, Math.round(H));
      }
      this.fitted = true;
    }
    this.viewChanged();
  }

  private focusSelected(): void {
    const row = this.store.get(this.selected);
    if (!row) return;
    const [x, y, w, h] = row.box;
    const cw = Math.max(w * 3, 96);
    const ch = Math.max(h * 3, 96);
    const [W, H] = this.stageSize();
    fitRegion(this.view, [x + w / 2 - cw / 2, y + h / 2 - ch / 2, cw, ch], W, H, 8);
  }

  private askFullRes(): void {
    const cv = this.c.image;
    if (this.fullRes || this.fullResAsked || !cv.width || !this.width) return;
    if (this.view.scale > (cv.width / this.width) * 1.2 && this.store.sampleId) {
      this.fullResAsked = true;
      this.send.fullRes(this.store.sampleId);
    }
  }

  // ---- selection ---------------------------------------------------------------------------
  private select(key: string | null, toggle: boolean): void {
    const multi = this.ui.multi;
    if (toggle && key) {
      if (multi.has(key)) {
        multi.delete(key);
        if (this.selected === key) this.setSelected(multi.values().next().value ?? key);
      } else {
        if (this.selected && this.store.get(this.selected)) multi.add(this.selected);
        multi.add(key);
        this.setSelected(key);
      }
      this.selectionChanged(true);
    } else {
      const hadMulti = multi.size > 0;
      multi.clear();
      if (!this.setSelected(key) || hadMulti) this.selectionChanged(true);
    }
  }

  private selectionChanged(follow: boolean): void {
    this.masks.selectionChanged();
    this.c.root.dataset.multi = String(this.ui.multi.size);
    this.liveChanged();
    if (follow && this.ui.multi.size === 0 && this.listMulti === 0) {
      this.list.select(this.listState(), this.listSelected); // the highlight moves, no rebuild
      this.listSelected = this.selected;
    } else {
      this.updateList(follow);
    }
    this.drawInfo();
  }

  /** Rubber band: the boxes shown that lie inside `band`, with those selected before. */
  private band(box: Box4, base: ReadonlySet<string>): void {
    const [x, y, w, h] = box;
    const inside = this.index.query(x, y, x + w, y + h).filter((i) => {
      const r = this.store.rows[i];
      return shown(r, this.ui) && r.box[0] >= x && r.box[1] >= y &&
        r.box[0] + r.box[2] <= x + w && r.box[1] + r.box[3] <= y + h;
    });
    this.ui.multi = new Set([...base, ...inside.map((i) => this.store.rows[i].key)]);
    if (inside.length && !this.ui.multi.has(this.selected || "")) {
      this.setSelected(this.store.rows[inside[0]].key);
    }
    this.selectionChanged(false);
  }

  private step(delta: number): void {
    const hadMulti = this.ui.multi.size > 0;
    this.ui.multi.clear();
    const key = stepKey(this.store.rows, this.selected, delta, this.ui);
    if (!(key && this.setSelected(key)) || hadMulti) this.selectionChanged(true);
  }

  // ---- decisions (each waits for the previous one's answer) -----------------------------
  private whenAnswered(fn: () => void): void {
    if (this.awaiting === null) fn();
    else this.queued.push(fn);
  }

  private sent(): void {
    const seq = this.send.lastSeq;
    this.awaiting = seq;
    this.c.root.dataset.saving = "true";
    // A kernel that is busy or gone never answers: say so, rather than wait for ever.
    clearTimeout(this.answerTimer);
    this.answerTimer = window.setTimeout(() => {
      if (this.awaiting !== seq) return;
      this.awaiting = null;
      this.queued = [];
      delete this.c.root.dataset.saving;
      this.c.message.textContent = "No answer from the kernel for 15 s: is it busy, or did it "
        + "stop? Decisions it did not answer may not be saved; the journal keeps all it wrote.";
    }, 15_000);
  }

  private decide(action: Decidable, extra: { label?: string; box?: Box4 } = {},
    keys?: string[]): void {
    this.whenAnswered(() => {
      const sid = this.store.sampleId;
      const ks = keys ?? targetKeys(this.selected, this.ui.multi).filter((k) => this.store.get(k));
      if (!sid || !ks.length) return;
      this.send.decide(sid, ks, action, this.seconds(), extra);
      this.sent();
    });
  }

  private relabel(label: string | undefined): void {
    if (!label) return;
    const keys = targetKeys(this.selected, this.ui.multi)
      .filter((k) => this.store.get(k)?.label !== label);
    if (keys.length) this.decide("edited", { label }, keys);
  }

  private acceptAll(): void {
    this.whenAnswered(() => {
      if (!this.store.sampleId) return;
      this.send.acceptAll(this.store.sampleId, this.model.get("threshold") || 0, this.seconds());
      this.sent();
    });
  }

  private history(kind: "undo" | "redo"): void {
    this.whenAnswered(() => {
      if (kind === "undo") this.send.undo();
      else this.send.redo();
      this.sent();
    });
  }

  private classify(label: string | null): void {
    const il = this.model.get("image_label") || {};
    if (!il.status || !this.store.sampleId) return;
    const action: Decidable = !label || label === il.label ? "accepted" : "edited";
    this.whenAnswered(() => {
      this.send.classify(this.store.sampleId!, action, label || il.label || null, this.seconds());
      this.sent();
    });
  }

  // ---- navigation --------------------------------------------------------------------------
  private go(delta: number): void {
    const target = this.position + delta;
    const entry = this.cache.at(target);
    if (entry && entry.decoded && target >= 0 && target < this.model.get("total")) {
      this.display(entry.meta, entry.bitmap, entry.rows, entry.selected);
      this.position = target;
      this.drawInfo();
      this.send.go(delta, entry.meta.sample_id); // Python need not send the image again
    } else {
      this.send.go(delta);
    }
  }

  // ---- keys --------------------------------------------------------------------------------
  private readonly actions: Record<KeyAction, (index: number) => void> = {
    next_box: () => this.step(1),
    prev_box: () => this.step(-1),
    accept: () => this.masks.accept() || this.decide("accepted"),
    reject: () => this.decide("rejected"),
    accept_all: () => this.acceptAll(),
    relabel: (i) => this.relabel(this.classes()[i]),
    draw: () => {
      this.ui.drawing = !this.ui.drawing;
      this.c.root.classList.toggle("nblabel-drawing", this.ui.drawing);
    },
    select_shown: () => {
      this.ui.multi = new Set(this.store.rows.filter((r) => shown(r, this.ui)).map((r) => r.key));
      this.selectionChanged(false);
    },
    escape: () => {
      if (this.masks.escape()) return;
      this.c.root.classList.remove("nblabel-show-help");
      this.ui.drawing = false;
      this.c.root.classList.remove("nblabel-drawing");
      const drag = this.ui.drag;
      this.ui.drag = null;
      if (drag && drag.kind === "box") this.moved(drag.key, null);
      this.ui.multi.clear();
      this.selectionChanged(false);
    },
    next_image: () => this.go(1),
    prev_image: () => this.go(-1),
    undo: () => this.history("undo"),
    redo: () => this.history("redo"),
    hide_decided: () => {
      this.ui.hideDecided = !this.ui.hideDecided;
      this.filtersChanged();
    },
    only_class: () => {
      const row = this.store.get(this.selected);
      this.ui.onlyClass = this.ui.onlyClass === null && row ? row.label : null;
      this.filtersChanged();
    },
    labels: () => {
      this.ui.allLabels = !this.ui.allLabels;
      this.filtersChanged();
    },
    threshold_down: () => this.setThreshold((this.model.get("threshold") || 0) - 0.05),
    threshold_up: () => this.setThreshold((this.model.get("threshold") || 0) + 0.05),
    zoom_in: () => this.zoomCentre(1.25),
    zoom_out: () => this.zoomCentre(0.8),
    fit: () => this.fitImage(),
    actual_pixels: () => this.zoomCentre(1 / this.view.scale),
    mode: () => {
      this.model.set("mode", this.model.get("mode") === "proposal" ? "image" : "proposal");
      this.model.save_changes();
    },
    classify: () => this.classify(null),
    image_class: (i) => {
      const pick = (this.model.get("image_label").top || [])[i];
      if (pick) this.classify(pick[0]);
    },
    segment: () => this.masks.setSegmenting(!this.masks.seg.on),
    brush: () => this.masks.setBrushing(!this.masks.brush.on),
    polygon: () => this.masks.setPolygon(!this.masks.poly.on),
    help: () => this.c.root.classList.toggle("nblabel-show-help"),
  };

  private act(action: KeyAction, index: number): void {
    this.actions[action](index);
  }

  private filtersChanged(): void {
    const d = this.c.root.dataset;
    d.hideDecided = String(this.ui.hideDecided);
    d.onlyClass = this.ui.onlyClass ?? "";
    d.allLabels = String(this.ui.allLabels);
    const parts = [this.ui.hideDecided ? "decided hidden" : "",
      this.ui.onlyClass !== null ? `only ${this.ui.onlyClass}` : "",
      this.ui.allLabels ? "all labels" : ""].filter(Boolean);
    this.c.filters.textContent = parts.join(" · ");
    this.renderAll();
    this.painted();
  }

  private zoomCentre(factor: number): void {
    const [W, H] = this.stageSize();
    zoomAt(this.view, factor, W / 2, H / 2);
    this.viewChanged();
  }

  private fitImage(): void {
    const [W, H] = this.stageSize();
    fit(this.view, this.width || 1, this.height || 1, W, H);
    this.viewChanged();
  }

  private setThreshold(v: number): void {
    this.model.set("threshold", Math.min(1, Math.max(0, Math.round(v * 100) / 100)));
    this.model.save_changes();
  }

  // ---- edits from the pointer --------------------------------------------------------------
  private moved(key: string, box: Box4 | null): void {
    const row = this.store.get(key);
    const clipped = box && clipBox(box, this.width, this.height);
    if (!row || !clipped) {
      // Cancelled, or moved off the image: put it back.
      this.exclude.delete(key);
      if (row) this.boxes.redraw([row.box]);
      this.liveChanged();
      return;
    }
    this.pendingEdit = { key, box: clipped };
    this.decide("edited", { box: clipped }, [key]);
    this.liveChanged();
  }

  /** The class a new object gets: the class chosen for drawing, else the class list's. */
  private newLabel(): string {
    const cls = this.classes();
    return (this.drawClass && cls.includes(this.drawClass) ? this.drawClass : null)
      || this.c.classSelect.value || cls[0] || "object";
  }

  private drawn(box: Box4): void {
    const clipped = clipBox(box, this.width, this.height);
    // With nothing proposed, drawing stays the default action (Esc or b leaves it).
    this.ui.drawing = this.drawFirst;
    this.c.root.classList.toggle("nblabel-drawing", this.drawFirst);
    if (!clipped || clipped[2] * this.view.scale < 3 || clipped[3] * this.view.scale < 3) return;
    const label = this.newLabel();
    this.whenAnswered(() => {
      if (!this.store.sampleId) return;
      this.send.add(this.store.sampleId, label, clipped, this.seconds());
      this.sent();
    });
  }

  private pointerHost(): PointerHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      view: this.view,
      stage: this.c.stage,
      root: this.c.root,
      drawing: () => this.ui.drawing,
      segmenting: () => this.masks.seg.on,
      brushing: () => this.masks.brush.on,
      brushPoint: (x, y, erase, first) => this.masks.brushPoint(x, y, erase, first),
      brushEnd: () => this.masks.brushEnd(),
      polygonDown: (x, y, remove) => this.masks.polygonDown(x, y, remove),
      polygonMove: (x, y) => this.masks.polygonMove(x, y),
      polygonUp: () => this.masks.polygonUp(),
      segmentPoint: (x, y, positive) => this.masks.segmentPoint(x, y, positive),
      segmentBox: (box) => this.masks.segmentBox(box),
      get drag() {
        return self.ui.drag;
      },
      set drag(d) {
        self.ui.drag = d;
      },
      hit: (x, y) => this.index.hit(x, y, 3 / this.view.scale,
        (i) => shown(this.store.rows[i], this.ui)),
      keyAt: (i) => this.store.rows[i].key,
      selected: () => {
        const row = this.store.get(this.selected);
        return row && !row.unusable ? { key: row.key, box: row.box,
          movable: row.status !== "rejected" } : null;
      },
      select: (key, toggle) => this.select(key, toggle),
      band: (box, base) => this.band(box, base),
      hover: (key) => {
        if (key === this.ui.hover) return;
        this.ui.hover = key;
        this.c.root.dataset.hover = key ?? "";
        this.liveChanged();
      },
      viewChanged: () => this.viewChanged(),
      liveChanged: () => this.liveChanged(),
      moveStarted: (key) => {
        this.exclude.add(key);
        const row = this.store.get(key);
        if (row) this.boxes.redraw([row.box]);
      },
      moved: (key, box) => this.moved(key, box),
      drawn: (box) => this.drawn(box),
      multi: () => this.ui.multi,
    };
  }

  // ---- from Python -------------------------------------------------------------------------
  private meta(): ImageMeta {
    const m = this.model;
    return {
      sample_id: m.get("sample_id"), filename: m.get("filename"),
      image_mime: m.get("image_mime"), image_width: m.get("image_width"),
      image_height: m.get("image_height"), image_preview: m.get("image_preview"),
      image_error: m.get("image_error"), image_label: m.get("image_label"),
      draw_first: m.get("draw_first"),
    };
  }

  /** Python's image traits changed: show that sample (from the cache when it is there). */
  private fromModel(): void {
    const meta = this.meta();
    this.position = this.model.get("position");
    if (meta.sample_id !== this.store.sampleId) {
      let entry: Entry | undefined = this.cache.get(meta.sample_id);
      const full = this.lastFull && this.lastFull.sampleId === meta.sample_id ? this.lastFull : null;
      const rows = full ? full.rows : entry ? entry.rows : [];
      if (!entry) {
        entry = this.cache.remember(meta, this.model.get("image"), rows, this.position,
          this.store.sampleId, full ? full.selected : null);
      }
      this.display(meta, entry.decoded ? entry.bitmap : entry.promise, rows, null);
    } else {
      this.drawClassPanel(meta);
    }
    this.drawInfo();
  }

  /** The spatial index over the rows on screen (a new image, or rows added or removed). */
  private reindex(): void {
    this.index = new GridIndex(this.width || 1, this.height || 1,
      this.store.rows.map((r) => r.box));
  }

  private onRows(msg: Extract<FromPython, { kind: "rows" }>, buffers: DataView[]): void {
    const received = performance.now();
    const rows = decodeRows(msg.rows, buffers);
    const entry = this.cache.get(msg.sample_id);
    if (msg.sample_id !== this.store.sampleId) {
      if (msg.full) {
        this.lastFull = { sampleId: msg.sample_id, rows, selected: msg.selected };
        if (entry) {
          entry.rows = rows;
          entry.selected = msg.selected;
        }
      }
    } else if (msg.full) {
      this.store.setAll(msg.sample_id, rows);
      this.reindex();
      this.exclude.clear();
      this.pendingEdit = null;
      if (msg.selected !== null) this.setSelectedQuiet(msg.selected);
      this.renderAll();
    } else {
      const { changed, structural } = this.store.apply(rows, msg.removed);
      const dirty: Box4[] = [];
      if (structural) {
        this.reindex();
      }
      for (const { index, before } of changed) {
        const row = this.store.rows[index];
        if (before) dirty.push(before);
        dirty.push(row.box);
        if (!structural) this.index.update(index, row.box);
        this.exclude.delete(row.key);
      }
      if (this.pendingEdit && changed.some(({ index }) =>
        this.store.rows[index].key === this.pendingEdit!.key)) this.pendingEdit = null;
      if (msg.selected !== null) this.setSelectedQuiet(msg.selected);
      this.boxes.setScene(this.scene());
      if (structural || msg.removed.length) this.boxes.render();
      else this.boxes.redraw(dirty);
      this.updateList(true);
      this.liveChanged();
      this.drawInfo();
      if (entry) entry.rows = this.store.rows;
    }
    if (msg.seq !== null && this.awaiting !== null && msg.seq >= this.awaiting) {
      this.awaiting = null;
      this.ui.multi.clear();
      this.exclude.clear();
      this.pendingEdit = null;
      delete this.c.root.dataset.saving;
      this.c.root.dataset.multi = "0";
      this.liveChanged();
      const next = this.queued.shift();
      if (next) next();
    }
    this.painted(msg.seq, received);
  }

  /** Python chose the selection: take it without sending it back. */
  private setSelectedQuiet(key: string): void {
    this.model.set("selected", key);
    if (this.model.get("mode") === "proposal") {
      this.focusSelected();
      this.viewChanged();
    }
  }

  private onPrefetch(msg: Extract<FromPython, { kind: "prefetch" }>, buffers: DataView[]): void {
    const rows = decodeRows(msg.rows, buffers);
    const { kind: _k, position, rows: _r, selected, ...meta } = msg;
    this.cache.remember(meta, buffers[0] ?? null, rows, position, this.store.sampleId, selected);
  }

  private onFullRes(msg: Extract<FromPython, { kind: "full_res" }>, buffers: DataView[]): void {
    if (msg.sample_id !== this.store.sampleId) return;
    decode(buffers[0], msg.image_mime).then((bitmap) => {
      if (!bitmap || msg.sample_id !== this.store.sampleId) return;
      this.fullRes = true;
      this.drawBitmap(bitmap);
      this.cache.replaceBitmap(msg.sample_id, bitmap);
      this.c.root.dataset.fullRes = "true";
    });
  }

  // ---- text --------------------------------------------------------------------------------
  private drawClassPanel(meta: ImageMeta): void {
    const panel = this.c.classPanel;
    const il = meta.image_label || {};
    panel.replaceChildren();
    panel.style.display = il.status ? "" : "none";
    if (!il.status) return;
    panel.dataset.status = il.status;
    panel.appendChild(el("span", "nblabel-label", "image class:"));
    (il.top || []).forEach(([label, score], i) => {
      const chosen = il.final === label && il.status !== "rejected";
      const chip = el("button", `nblabel-btn nblabel-class-chip${chosen ? " nblabel-chosen" : ""}`,
        `${i + 1}. ${label}` + (score === null ? "" : ` ${(score * 100).toFixed(0)}%`));
      chip.type = "button";
      chip.tabIndex = -1;
      chip.title = `choose ${label} (Alt+${i + 1})`;
      chip.dataset.label = label;
      chip.addEventListener("click", (e) => {
        e.preventDefault();
        this.classify(label);
      });
      panel.appendChild(chip);
    });
    const state = il.status === "pending" ? "pending (c accepts)" :
      `${il.status}${il.final ? `: ${il.final}` : ""}`;
    panel.appendChild(el("span", "nblabel-classification-status", state));
  }

  private drawInfo(): void {
    const c = this.c;
    const m = this.model;
    const total = m.get("total");
    c.progress.textContent =
      `${m.get("reviewed")} of ${total} reviewed · image ${total ? this.position + 1 : 0}/${total}`;
    const rows = this.store.rows;
    const i = this.store.indexOf(this.selected);
    const row = rows[i];
    const { pending, hidden } = this.counts;
    const multi = this.ui.multi.size;
    c.info.textContent = row
      ? (multi > 1 ? `${multi} boxes selected · ` : "") +
        `box ${i + 1}/${rows.length}: ${row.label}` +
        (row.confidence === null ? "" : ` (${row.confidence.toFixed(2)})`) +
        ` · ${row.status} · ${pending} pending` + (hidden ? ` · ${hidden} below threshold` : "") +
        (row.unusable ? ` · unusable: ${row.unusable} (r rejects it)` : "")
      : rows.length === 0 && !m.get("image_error")
        ? "no boxes on this image: press b to draw one, → to go on"
        : "";
    c.message.textContent = m.get("message");
    const cls = this.classes();
    const sel = c.classSelect;
    if (sel.options.length !== cls.length || [...sel.options].some((o, k) => o.value !== cls[k])) {
      sel.replaceChildren(...cls.map((name, k) => {
        const o = el("option", "", `${k + 1}: ${name}`);
        o.value = name;
        return o;
      }));
    }
    if (this.ui.drawing) {
      if (this.drawClass && cls.includes(this.drawClass)) sel.value = this.drawClass;
    } else if (row) {
      sel.value = row.label;
    }
    const t = m.get("threshold") || 0;
    c.threshold.value = String(t);
    c.thresholdText.textContent = `≥ ${t.toFixed(2)}`;
    c.root.dataset.mode = m.get("mode");
  }

  private drawNotice(): void {
    const n = this.c.notice;
    n.textContent = this.model.get("notice") || "";
    n.style.display = n.textContent ? "" : "none";
  }

  private drawSyncStatus(): void {
    const st = this.model.get("sync_status") || {};
    const s = this.c.syncStatus;
    s.dataset.state = st.state || "synced";
    s.dataset.waiting = String(st.waiting || 0);
    s.textContent = st.message || "";
    s.style.display = s.textContent ? "" : "none";
  }

  // ---- wiring ------------------------------------------------------------------------------
  private wire(): void {
    const { model, c } = this;
    const root = c.root;
    root.addEventListener("keydown", (e) => {
      const target = e.target as HTMLElement | null;
      // The class list and the new-class box take their own keys.
      if (target && (target.tagName === "SELECT" || target.tagName === "INPUT")) return;
      const hit = lookup(e);
      if (!hit) return;
      e.preventDefault();
      e.stopPropagation();
      this.act(hit.action, hit.index);
    });
    // Keep every key typed in the widget away from the notebook's shortcuts, and keep the
    // focus: a click anywhere in the widget focuses it.
    root.addEventListener("keyup", (e) => e.stopPropagation());
    root.addEventListener("keypress", (e) => e.stopPropagation());
    root.setAttribute("data-lm-suppress-shortcuts", "true"); // JupyterLab/Notebook 7 key map
    for (const type of ["pointerdown", "mousedown", "click", "focusin"]) {
      root.addEventListener(type, (e) => {
        e.stopPropagation();
        const tag = (e.target as HTMLElement | null)?.tagName;
        if (type !== "focusin" && tag !== "SELECT" && tag !== "INPUT" && tag !== "OPTION") {
          root.focus({ preventScroll: true });
        }
      });
    }
    c.classSelect.addEventListener("change", () => {
      // While drawing, the list sets the class of the next box; otherwise it relabels.
      if (this.ui.drawing) this.drawClass = c.classSelect.value;
      else this.relabel(c.classSelect.value);
      root.focus({ preventScroll: true });
    });
    c.threshold.addEventListener("input", () => {
      c.thresholdText.textContent = `≥ ${Number(c.threshold.value).toFixed(2)}`;
    });
    c.threshold.addEventListener("change", () => {
      this.setThreshold(Number(c.threshold.value));
      root.focus({ preventScroll: true });
    });
    this.disposers.push(attachPointer(this.pointerHost()));

    let scheduled = false;
    const fromModel = () => {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        this.fromModel();
      });
    };
    for (const name of ["sample_id", "image", "image_error", "position", "total", "reviewed",
      "message", "image_label"] as const) model.on(`change:${name}`, fromModel);
    model.on("change:reference", () => this.renderAll());
    model.on("change:selected", () => {
      if (model.get("mode") === "proposal") {
        this.focusSelected();
        this.viewChanged();
      }
      this.selectionChanged(true);
    });
    model.on("change:threshold", () => this.drawInfo());
    model.on("change:classes", () => {
      this.drawInfo();
      if (this.pendingClass && this.classes().includes(this.pendingClass)) {
        this.drawClass = this.pendingClass; // a new class is for the next box drawn
        this.pendingClass = null;
        this.drawInfo();
      }
      this.renderAll();
    });
    c.newClass.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Escape") {
        c.newClass.value = "";
        root.focus({ preventScroll: true });
      }
      if (e.key !== "Enter") return;
      e.preventDefault();
      const name = c.newClass.value.trim();
      c.newClass.value = "";
      root.focus({ preventScroll: true });
      if (!name) return;
      this.pendingClass = name;
      this.whenAnswered(() => {
        this.send.addClass(name);
        this.sent();
      });
    });
    model.on("change:mode", () => {
      if (model.get("mode") === "proposal") {
        this.focusSelected();
        this.viewChanged();
      } else {
        this.fitImage();
      }
      this.drawInfo();
    });
    model.on("change:notice", () => this.drawNotice());
    model.on("change:sync_status", () => this.drawSyncStatus());
    model.on("msg:custom", (msg: FromPython, buffers: DataView[]) => {
      if (msg.kind === "rows") this.onRows(msg, buffers);
      else if (msg.kind === "prefetch") this.onPrefetch(msg, buffers);
      else if (msg.kind === "full_res") this.onFullRes(msg, buffers);
      else if (msg.kind === "mask") this.masks.onMask(msg, buffers);
      else if (msg.kind === "polygon") this.masks.onPolygon(msg);
    });
    const resize = new ResizeObserver(() => {
      this.fitted = false;
      this.layout();
      this.boxes.render(this.view, ...this.stageSize());
    });
    resize.observe(c.stage);
    this.disposers.push(() => resize.disconnect());
    this.drawNotice();
    this.drawSyncStatus();
    this.fromModel();
    this.send.hello();
    root.dataset.ready = "true";
  }

  dispose(): void {
    for (const d of this.disposers) d();
    this.cache.close();
  }
}
