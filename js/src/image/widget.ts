// The controller: wires the model (traits and messages) to the state, the renderers, the pointer
// and the keys. Python decides (visibility, next pending box, completion) and sends the result;
// the browser displays it and sends decisions. Drag, pan and zoom stay in the browser; only
// decisions and navigation go to Python. A decision is painted at once as on its way
// (decisions.ts) and kept, or put back, when Python answers (answers.ts).
//
// One module per concern, each working on this view: stage.ts (the image, layout, zoom, what is
// painted), modelsync.ts (traits and messages from Python), selection.ts, actions.ts (what each
// key does), pointerhost.ts (the pointer's view of this widget), panels.ts (the text around the
// image), masktools.ts (click to mask, brush, polygon).
import type { AnyModel } from "@anywidget/types";
import { AttributePanel } from "../editor/attributes";
import { CONTRACT } from "../editor/contract";
import { stayInView } from "../editor/stayinview";
import { attachActions } from "./actions";
import { type Chrome, buildChrome } from "./chrome";
import { Decisions } from "./decisions";
import { ImageCache } from "./imagecache";
import type { KeyAction } from "./keymap";
import { MaskTools } from "./masktools";
import { Minimap } from "../editor/minimap";
import { wireModel } from "./modelsync";
import { countRows, drawInfo } from "./panels";
import { attachPointer } from "./pointer";
import { pointerHost } from "./pointerhost";
import { type Sender, createSender } from "./protocol";
import { BoxLayer, LiveLayer, type Scene } from "./renderer";
import { RowList } from "./rowlist";
import { select, selectionChanged } from "./selection";
import { GridIndex } from "./spatial";
import { RowStore, createUi } from "./state";
import { askFullRes, painted, showStats } from "./stage";
import type { Box4, ModelTraits, Row } from "./types";
import { centreOn, createView } from "../editor/view";

const SETTLE_MS = 90; // the box layer is drawn again this long after the view stops moving

export class ReviewView {
  c: Chrome;
  send: Sender;
  view = createView();
  ui = createUi();
  store = new RowStore();
  index = new GridIndex(1, 1);
  cache = new ImageCache(12);
  boxes: BoxLayer;
  live = new LiveLayer();
  minimap: Minimap;
  list: RowList;
  decisions: Decisions;
  exclude = new Set<string>();
  pendingEdit: { key: string; box: Box4 } | null = null;
  width = 0;
  height = 0;
  position: number;
  shownAt = performance.now();
  fullRes = false;
  fullResAsked = false;
  fitted = false;
  /** Nothing is proposed on the image on screen: drawing is the default action. */
  drawFirst = false;
  /** A class typed in the new-class box, selected once Python has added it. */
  pendingClass: string | null = null;
  /** The class of the next box drawn (the class list while drawing, or a class just added). */
  drawClass: string | null = null;
  /** Click to mask, brush and polygon editing (masktools.ts). */
  masks: MaskTools;
  /** The selected label's attributes (the shared panel, ../editor/attributes.ts). */
  attrPanel: AttributePanel;
  lastFull: { sampleId: string; rows: Row[]; selected: string | null } | null = null;
  // Of the rows on screen, when they change (decided: journaled, not on their way).
  counts = { pending: 0, hidden: 0, sending: 0, decided: 0 };
  listSelected: string | null = null;
  listMulti = 0; // size of the multi-selection the list was last painted with
  act: (action: KeyAction, index: number) => void = () => {};
  private frame = 0;
  private settleTimer = 0;
  private saveTimer = 0;
  disposers: (() => void)[] = [];
  imageCtx: CanvasRenderingContext2D;

  constructor(public model: AnyModel<ModelTraits>, host: HTMLElement) {
    this.c = buildChrome(host, (a) => this.act(a, 0));
    this.send = createSender(model);
    this.position = model.get("position");
    this.imageCtx = this.c.image.getContext("2d")!;
    this.decisions = new Decisions({
      store: this.store, send: this.send, ui: this.ui,
      selected: () => this.selected,
      threshold: () => this.model.get("threshold") || 0,
      seconds: () => this.seconds(),
      imageLabel: () => this.model.get("image_label") || {},
      rowsChanged: (keys, before) => this.rowsChanged(keys, before),
      busy: (on) => this.busy(on),
      say: (text) => {
        this.c.message.textContent = text;
      },
      refused: (seq) => {
        this.c.root.dataset.refused = String(seq);
      },
    });
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
      painted: () => painted(this),
      request: (fn) => this.decisions.request(fn),
    });
    this.boxes = new BoxLayer((s) => showStats(this, s));
    this.c.stage.append(this.boxes.canvas, this.live.canvas);
    this.minimap = new Minimap((x, y) => {
      const [W, H] = this.stageSize();
      centreOn(this.view, x, y, W, H);
      this.viewChanged();
    });
    this.c.stage.append(this.minimap.canvas);
    this.list = new RowList((key, toggle) => {
      select(this, key, toggle);
      this.c.root.focus({ preventScroll: true });
    });
    this.attrPanel = new AttributePanel((key, name, value) => {
      this.decisions.attributes(key, { [name]: value });
      this.c.root.focus({ preventScroll: true });
    }, () => this.c.root.focus({ preventScroll: true }));
    this.c.side.append(this.attrPanel.el, this.list.el);
    attachActions(this);
    this.disposers.push(attachPointer(pointerHost(this)));
    this.disposers.push(stayInView(this.c.root)); // "Run All" scrolled past it: come back
    wireModel(this);
  }

  // ---- state access ------------------------------------------------------------------------
  get selected(): string | null {
    return this.model.get("selected") || null;
  }

  /** Select `key` and tell Python; the change handler redraws. False when nothing changed. */
  setSelected(key: string | null): boolean {
    if ((key || "") === (this.model.get("selected") || "")) return false;
    this.model.set("selected", key || "");
    // Python needs the selection only to restore it (a reload) and to follow it in proposal
    // mode; decisions name their boxes. Walking with Tab sends it once the keys rest.
    clearTimeout(this.saveTimer);
    this.saveTimer = window.setTimeout(() => this.model.save_changes(), 120);
    return true;
  }

  classes(): string[] {
    return this.model.get("classes") || [];
  }

  seconds(): number {
    return (performance.now() - this.shownAt) / 1000;
  }

  stageSize(): [number, number] {
    return [this.c.stage.clientWidth || 640, this.c.stage.clientHeight || 480];
  }

  scene(): Scene {
    return {
      rows: this.store.rows, index: this.index, classes: this.classes(),
      reference: this.model.get("reference") || [], ui: this.ui, exclude: this.exclude,
      get: (key) => this.store.get(key),
    };
  }

  /** The class a new object gets: the class chosen for drawing, else the class list's. */
  newLabel(): string {
    const cls = this.classes();
    return (this.drawClass && cls.includes(this.drawClass) ? this.drawClass : null)
      || this.c.classSelect.value || cls[0] || CONTRACT.default_label;
  }

  // ---- drawing -----------------------------------------------------------------------------
  /** Draw the live layer (and the minimap) on the next frame; one draw per frame at most. */
  liveChanged(): void {
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
        sending: this.counts.sending ? this.store.rows.filter((r) => r.sending) : [],
        ...this.masks.live(),
      });
      this.minimap.draw(this.view, W, H);
    });
  }

  /** The view moved: the image and the box layer follow by a transform; redraw when settled. */
  viewChanged(): void {
    const v = this.view;
    this.c.world.style.transform = `translate(${v.tx}px, ${v.ty}px) scale(${v.scale})`;
    this.boxes.place(v);
    // Zoom as every kind shows it: relative to the fitted image (data-zoom; data-scale is
    // screen pixels per image pixel). No image (a broken one): no zoom to show.
    const [sw, sh] = this.stageSize();
    const fitted = this.width && this.height ? Math.min(sw / this.width, sh / this.height) : 0;
    this.c.zoomText.textContent = fitted > 0 ? `${Math.round((v.scale / fitted) * 100)}%` : "–";
    this.c.root.dataset.zoom = fitted > 0 ? (v.scale / fitted).toFixed(3) : "1";
    this.c.root.dataset.scale = String(v.scale);
    this.c.root.dataset.tx = v.tx.toFixed(1);
    this.c.root.dataset.ty = v.ty.toFixed(1);
    askFullRes(this);
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

  renderAll(): void {
    const [W, H] = this.stageSize();
    this.boxes.setScene(this.scene());
    this.boxes.render(this.view, W, H);
    this.liveChanged();
    this.updateList(true);
    this.drawInfo();
  }

  listState() {
    return { rows: this.store.rows, reference: this.model.get("reference") || [],
      classes: this.classes(), selected: this.selected, multi: this.ui.multi };
  }

  updateList(follow: boolean): void {
    this.counts = countRows(this.store.rows);
    this.list.update(this.listState(), follow);
    this.listSelected = this.selected;
    this.listMulti = this.ui.multi.size;
  }

  drawInfo(): void {
    const decided = String(this.counts.decided);
    if (this.c.root.dataset.decided !== decided) this.c.root.dataset.decided = decided;
    const sel = this.store.get(this.selected);
    const keeps = sel && sel.status !== "rejected" && !sel.unusable;
    this.attrPanel.show(this.model.get("attributes") || {}, keeps ? sel.key : null,
      keeps ? sel.label : null, sel?.attributes ?? null);
    drawInfo(this.c, this.model, {
      position: this.position, rows: this.store.rows,
      selectedIndex: this.store.indexOf(this.selected), counts: this.counts,
      multi: this.ui.multi.size, drawing: this.ui.drawing, drawClass: this.drawClass,
    });
  }

  /** The spatial index over the rows on screen (a new image, or rows added or removed). */
  reindex(): void {
    this.index = new GridIndex(this.width || 1, this.height || 1,
      this.store.rows.map((r) => r.box));
  }

  /** Rows changed in place (a decision painted as on its way, or put back): the live layer
   *  draws decisions on their way over the box layer, which is redrawn only when Python's
   *  answer comes (or a box was put back after a refusal); say when it is on screen
   *  (`nblabel:painted` with `provisional`). */
  rowsChanged(keys: string[], before: Box4[]): void {
    const dirty: Box4[] = [...before];
    let putBack = false;
    for (const key of keys) {
      const i = this.store.indexOf(key);
      if (i < 0) continue;
      const row = this.store.rows[i];
      putBack ||= !row.sending;
      dirty.push(row.box);
      this.index.update(i, row.box);
    }
    if (putBack) {
      this.boxes.setScene(this.scene());
      this.boxes.redraw(dirty);
    }
    this.updateList(false);
    this.liveChanged();
    this.drawInfo();
    this.c.root.dataset.sending = String(this.counts.sending);
    painted(this, null, null, true);
  }

  /** A request is on its way (or answered): show "saving"; an answer ends a multi-selection. */
  busy(on: boolean): void {
    if (on) {
      this.c.root.dataset.saving = "true";
      return;
    }
    delete this.c.root.dataset.saving;
    this.ui.multi.clear();
    this.exclude.clear();
    this.pendingEdit = null;
    this.c.root.dataset.multi = "0";
    this.c.root.dataset.sending = String(countRows(this.store.rows).sending);
    this.liveChanged();
  }

  selectionChanged(follow: boolean): void {
    selectionChanged(this, follow);
  }

  dispose(): void {
    for (const d of this.disposers) d();
    this.cache.close();
  }
}
