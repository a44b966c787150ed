// Making and editing masks: click to mask (key s), the brush (e) and polygon editing (g). One
// tool at a time; each sends its prompt or edit to Python (a stroke or a polygon once, on
// release) and shows Python's answer. The controller (widget.ts) owns the rest of the view.
import { PolygonEdit } from "../editor/polygon";
import type { Sender } from "./protocol";
import { tintMask } from "./paint";
import type { SegDraft } from "./renderer";
import { classColour } from "./style";
import type { Box4, FromPython } from "./types";
import { clipBox } from "../editor/view";

/** What the mask tools need from the controller. */
export interface MaskHost {
  root: HTMLElement;
  send: Sender;
  sampleId(): string | null;
  selected(): string | null;
  /** The image's size in pixels, and the view's scale (screen px per image px). */
  size(): [number, number];
  scale(): number;
  classes(): string[];
  /** The class a new object gets (the class list, or a class just added). */
  newLabel(): string;
  seconds(): number;
  /** A tool was turned on (drawing off) or off (drawing back to its default). */
  toolChanged(on: boolean): void;
  liveChanged(): void;
  painted(): void;
  /** Send a request once Python has answered the one on its way (they go one by one): `send`
   *  sends it and says whether it did; its answer is then awaited. */
  request(send: () => boolean): void;
}

export class MaskTools {
  /** Brush mode: the stroke on its way, its radius (image pixels) and whether it erases. */
  readonly brush = { on: false, points: [] as [number, number][], radius: 4, erase: false };
  /** Click to mask: on or off, the last request's number, the prompt and Python's mask. */
  readonly seg: { on: boolean; req: number; sentAt: number; draft: SegDraft } = {
    on: false, req: 0, sentAt: 0, draft: { box: null, points: [], mask: null, maskBox: null },
  };
  readonly poly = new PolygonEdit();

  constructor(private host: MaskHost) {}

  /** What the live layer draws for the tools. */
  live(): { seg: SegDraft | null; brush: MaskTools["brush"] | null;
    polygon: [number, number][] | null } {
    return { seg: this.seg.on ? this.seg.draft : null, brush: this.brush.on ? this.brush : null,
      polygon: this.poly.on ? this.poly.points : null };
  }

  /** A new image: no prompt, no polygon (the tool modes stay). */
  reset(): void {
    this.clearSegment();
    this.setPolygon(false);
  }

  /** The selection changed: a polygon being edited belongs to the box it was opened on. */
  selectionChanged(): void {
    if (this.poly.on && this.poly.key !== this.host.selected()) this.setPolygon(false);
  }

  /** Esc: leave the polygon or the brush; clear the prompt, then leave click to mask. */
  escape(): boolean {
    if (this.poly.on) this.setPolygon(false);
    else if (this.brush.on) this.setBrushing(false);
    else if (this.seg.on) {
      const d = this.seg.draft;
      if (d.box || d.points.length) this.clearSegment();
      else this.setSegmenting(false);
    } else return false;
    return true;
  }

  /** a / Enter in click to mask: keep the mask as a new object. */
  accept(): boolean {
    if (!this.seg.on) return false;
    const label = this.host.newLabel();
    this.host.request(() => {
      const sid = this.host.sampleId();
      if (!sid) return false;
      this.host.send.acceptMask(sid, label, this.host.seconds());
      return true;
    });
    this.clearSegment();
    return true;
  }

  setSegmenting(on: boolean): void {
    if (on && this.poly.on) this.setPolygon(false);
    if (on && this.brush.on) this.setBrushing(false);
    this.seg.on = on;
    this.clearSegment();
    this.host.toolChanged(on);
    this.host.root.classList.toggle("nblabel-segmenting", on);
    this.host.root.dataset.segmenting = String(on);
    this.host.liveChanged();
  }

  setBrushing(on: boolean): void {
    if (on && this.poly.on) this.setPolygon(false);
    if (on && this.seg.on) this.setSegmenting(false);
    this.brush.on = on;
    this.brush.points = [];
    // About 1 % of the image's smaller side, at least 2 px.
    const [w, h] = this.host.size();
    this.brush.radius = Math.max(2, Math.round(Math.min(w, h) / 100));
    this.host.toolChanged(on);
    this.host.root.dataset.brushing = String(on);
    this.host.liveChanged();
  }

  /** Polygon editing of the selected box's mask: ask Python for its outline (onPolygon). */
  setPolygon(on: boolean): void {
    const key = this.host.selected();
    const sid = this.host.sampleId();
    if (on && (!key || !sid)) return;
    if (on) {
      if (this.seg.on) this.setSegmenting(false);
      if (this.brush.on) this.setBrushing(false);
      this.poly.start(key!);
      this.host.send.polygon(sid!, key!);
    } else {
      this.poly.stop();
    }
    this.host.root.dataset.polygon = on ? key! : "";
    this.host.root.dataset.polygonPoints = "0";
    this.host.liveChanged();
  }

  onPolygon(msg: Extract<FromPython, { kind: "polygon" }>): void {
    if (msg.sample_id !== this.host.sampleId() || msg.key !== this.poly.key) return; // stale
    if (msg.error || msg.points.length < 3) {
      this.setPolygon(false);
      return;
    }
    this.poly.points = msg.points.map(([x, y]) => [x, y]);
    this.host.root.dataset.polygonPoints = String(this.poly.points.length);
    this.host.liveChanged();
    this.host.painted();
  }

  private clearSegment(): void {
    this.seg.req++; // answers to earlier prompts are dropped
    this.seg.draft = { box: null, points: [], mask: null, maskBox: null };
    delete this.host.root.dataset.maskReq;
    this.host.liveChanged();
  }

  private sendSegment(): void {
    const sid = this.host.sampleId();
    if (!sid) return;
    const d = this.seg.draft;
    this.seg.req++;
    this.seg.sentAt = performance.now();
    this.host.root.dataset.maskPending = String(this.seg.req);
    this.host.send.segment(sid, this.seg.req, d.box, d.points);
  }

  onMask(msg: Extract<FromPython, { kind: "mask" }>, buffers: DataView[]): void {
    if (msg.sample_id !== this.host.sampleId() || msg.req !== this.seg.req) return; // stale
    const req = msg.req;
    const root = this.host.root;
    const done = () => {
      this.host.liveChanged();
      requestAnimationFrame(() => {
        if (req !== this.seg.req) return;
        root.dataset.maskReq = String(req);
        root.dataset.maskMs = (performance.now() - this.seg.sentAt).toFixed(1);
        delete root.dataset.maskPending;
      });
    };
    if (msg.error || !msg.box || !buffers[0]) {
      this.seg.draft.mask = null;
      this.seg.draft.maskBox = null;
      root.dataset.maskError = msg.error || "no mask";
      done();
      return;
    }
    delete root.dataset.maskError;
    const view = buffers[0];
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
    const box = msg.box;
    tintMask(bytes, classColour(this.host.classes(), this.host.newLabel())).then((canvas) => {
      if (req !== this.seg.req) return;
      this.seg.draft.mask = canvas;
      this.seg.draft.maskBox = box;
      done();
    });
  }

  // ---- the pointer's side ------------------------------------------------------------------
  segmentPoint(x: number, y: number, positive: boolean): void {
    const [w, h] = this.host.size();
    if (x < 0 || y < 0 || x >= w || y >= h) return; // Python also checks
    this.seg.draft.points.push([x, y, positive]);
    this.sendSegment();
  }

  segmentBox(box: Box4): void {
    const [w, h] = this.host.size();
    const clipped = clipBox(box, w, h);
    if (!clipped) return;
    this.seg.draft.box = clipped;
    this.sendSegment();
  }

  brushPoint(x: number, y: number, erase: boolean, first: boolean): void {
    if (first) this.brush.points = [];
    this.brush.erase = erase;
    this.brush.points.push([x, y]);
    this.host.liveChanged();
  }

  brushEnd(): void {
    const pts = this.brush.points;
    const key = this.host.selected();
    const sid = this.host.sampleId();
    this.brush.points = [];
    if (!pts.length || !key || !sid) return;
    const { erase, radius } = this.brush;
    this.host.request(() => {
      this.host.send.paint(sid, key, pts, radius, erase);
      return true;
    });
  }

  polygonDown(x: number, y: number, remove: boolean): boolean {
    const hit = this.poly.down(x, y, 6 / this.host.scale(), remove);
    if (hit) this.host.liveChanged();
    return hit;
  }

  polygonMove(x: number, y: number): void {
    this.poly.move(x, y);
    this.host.liveChanged();
  }

  polygonUp(): void {
    const points = this.poly.up();
    const key = this.poly.key;
    const sid = this.host.sampleId();
    this.host.root.dataset.polygonPoints = String(this.poly.points.length);
    if (!points || !key || !sid) return;
    this.host.request(() => {
      this.host.send.setPolygon(sid, key, points);
      return true;
    });
  }
}
