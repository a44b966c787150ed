// The video widget's controller: frames and boxes on a canvas, the timeline, the keys, and the
// drag that fixes a box. Python decides what an action changes and sends it back; stepping,
// playing, scrubbing and dragging stay in the browser, from the frames Python sent ahead.
import type { AnyModel } from "@anywidget/types";
import { el } from "../dom";
import { helpPanel, keepInput, panelRoot } from "../panel";
import { FrameCache } from "./frames";
import { type VideoAction, videoAction, videoHelp } from "./keys";
import { ROW_H, hit, nextAfter } from "./timeline";
import { TimelinePainter } from "./timelinepaint";
import type { FrameBox, TrackAction, VideoFromPython, VideoToPython, VideoTraits } from "./types";

const STATUS_COLOUR = ["#ffb300", "#2e7d32", "#9e9e9e", "#1565c0", "#6a1b9a"];
const BEHIND = 8;
const AHEAD = 40;
/** Timeline rows drawn (the most suspect tracks first); Tab reaches the others. */
const MAX_ROWS = 60;
/** Frames are drawn (and sent by Python) at most this many pixels wide or high. */
const MAX_SIDE = 1280;

export class VideoView {
  root = panelRoot("video");
  info = el("div", "nblabel-video-info");
  canvas = el("canvas", "nblabel-video-frame");
  timeline = el("canvas", "nblabel-timeline");
  message = el("div", "nblabel-message");
  help = helpPanel(videoHelp());
  cache = new FrameCache();
  frame = 1;
  playing = 0;
  marked: { track: string; frame: number } | null = null;
  seq = 0;
  stepAt = 0;
  drag: { id: string; box: [number, number, number, number]; x: number; y: number;
    corner: boolean } | null = null;
  /** The next drag draws a new track's box (key n). */
  drawing = false;
  private saveTimer = 0;
  private scale = 1;
  private bars = new TimelinePainter();
  private retry = 0;
  private ctx: CanvasRenderingContext2D;

  constructor(public model: AnyModel<VideoTraits>, host: HTMLElement) {
    this.root.append(this.info, this.canvas, this.timeline, this.message, this.help);
    host.appendChild(this.root);
    this.ctx = this.canvas.getContext("2d")!;
    this.frame = model.get("frame") || 1;
    this.resize();
    this.wire();
    this.send({ kind: "hello" });
    this.want();
    this.paint();
    // The frame shown is not here (a request lost, or one the kernel dropped for a newer
    // place): ask again.
    this.retry = window.setInterval(() => {
      if (!this.cache.has(this.frame)) this.want();
    }, 500);
  }

  private send(m: VideoToPython): void {
    this.model.send(m);
  }

  private resize(): void {
    const w = this.model.get("width") || 640;
    const h = this.model.get("height") || 360;
    // The canvas at most MAX_SIDE px wide or high (as the frames Python sends): a 1080p
    // canvas is 2.25 times the pixels to paint and composite for no visible gain at the
    // widget's size. Boxes stay in video pixels (the transform).
    this.scale = Math.min(1, MAX_SIDE / Math.max(w, h));
    this.canvas.width = Math.round(w * this.scale);
    this.canvas.height = Math.round(h * this.scale);
    this.ctx.setTransform(this.scale, 0, 0, this.scale, 0, 0);
    this.ctx.font = `${Math.round(12 / this.scale)}px sans-serif`;
    this.bars.reset();
    const rows = Math.max(1, Math.min(MAX_ROWS, this.model.get("tracks").length));
    this.timeline.width = Math.max(320, this.root.clientWidth || 800);
    this.timeline.height = rows * ROW_H + 4;
  }

  private wire(): void {
    const m = this.model;
    m.on("msg:custom", (msg: VideoFromPython, buffers: DataView[]) => this.onMessage(msg, buffers));
    m.on("change:tracks", () => {
      this.resize(); // also drops the drawn bars
      this.paint();
    });
    m.on("change:selected", () => this.paint());
    m.on("change:message", () => this.say(m.get("message")));
    m.on("change:frame", () => {
      if (m.get("frame") !== this.frame) this.go(m.get("frame"));
    });
    keepInput(this.root, (e) => {
      const action = videoAction(e);
      if (action) this.act(action);
      return action !== null;
    });
    // Scrubbing: press on the timeline and drag along it.
    this.timeline.addEventListener("pointerdown", (e) => {
      this.timeline.setPointerCapture(e.pointerId);
      this.onTimeline(e, true);
    });
    this.timeline.addEventListener("pointermove", (e) => {
      if (this.timeline.hasPointerCapture(e.pointerId)) this.onTimeline(e, false);
    });
    this.canvas.addEventListener("pointerdown", (e) => this.onDown(e));
    this.canvas.addEventListener("pointermove", (e) => this.onMove(e));
    this.canvas.addEventListener("pointerup", () => this.onUp());
  }

  private onMessage(msg: VideoFromPython, buffers: DataView[]): void {
    if (msg.kind === "frames") {
      msg.numbers.forEach((n, i) => {
        this.cache.boxes.set(n, msg.boxes[String(n)] ?? []);
        this.cache.put(n, buffers[i], (f) => {
          if (f === this.frame) this.paint();
        });
      });
    } else if (msg.kind === "boxes") {
      if (msg.reset) this.cache.boxes.clear();
      for (const [f, bs] of Object.entries(msg.frames)) this.cache.boxes.set(Number(f), bs);
      this.paint();
    } else if (msg.kind === "answer") {
      delete this.root.dataset.busy;
      this.say(msg.error ?? "");
    }
  }

  private say(text: string): void {
    this.message.textContent = text;
  }

  private want(): void {
    const total = this.model.get("total_frames");
    const lo = Math.max(1, this.frame - BEHIND);
    const hi = Math.min(total, this.frame + AHEAD);
    const missing = this.cache.missing(lo, hi);
    if (missing.length) this.send({ kind: "want", frame: this.frame, missing });
  }

  go(f: number): void {
    const total = this.model.get("total_frames");
    this.frame = Math.min(total, Math.max(1, Math.round(f)));
    this.stepAt = performance.now();
    this.paint();
    this.want();
    window.clearTimeout(this.saveTimer);
    this.saveTimer = window.setTimeout(() => {
      this.model.set("frame", this.frame);
      this.model.save_changes();
    }, 300);
  }

  private selectedTrack() {
    return this.model.get("tracks").find((t) => t.id === this.model.get("selected")) ?? null;
  }

  private select(id: string): void {
    this.model.set("selected", id);
    this.model.save_changes();
    this.paint();
  }

  private request(action: TrackAction, extra: Partial<Extract<VideoToPython,
    { kind: "act" }>> = {}): void {
    this.root.dataset.busy = "true";
    this.send({ kind: "act", seq: ++this.seq, action, track: this.model.get("selected"),
      frame: this.frame, ...extra });
  }

  act(a: VideoAction): void {
    const tracks = this.model.get("tracks");
    const t = this.selectedTrack();
    const idx = tracks.findIndex((x) => x.id === this.model.get("selected"));
    const table: Record<VideoAction, () => void> = {
      next_frame: () => this.go(this.frame + 1),
      prev_frame: () => this.go(this.frame - 1),
      forward: () => this.go(this.frame + 10),
      back: () => this.go(this.frame - 10),
      play: () => this.togglePlay(),
      next_track: () => tracks.length && this.select(tracks[(idx + 1) % tracks.length].id),
      prev_track: () => tracks.length
        && this.select(tracks[(idx - 1 + tracks.length) % tracks.length].id),
      next_suspect: () => {
        const f = t ? nextAfter(t.flags, this.frame) : null;
        if (f !== null) this.go(f);
        else this.say("no suspicious frame after this one");
      },
      next_keyframe: () => {
        const f = t ? nextAfter(t.keyframes, this.frame) : null;
        if (f !== null) this.go(f);
      },
      first_frame: () => t && this.go(t.first),
      accept: () => this.request("accept"),
      reject: () => this.request("reject"),
      split: () => this.request("split"),
      retrack: () => this.request("retrack"),
      new_track: () => {
        this.drawing = !this.drawing;
        this.root.classList.toggle("nblabel-drawing", this.drawing);
        this.say(this.drawing ? "drag the new track's box on this frame" : "");
      },
      end: () => this.request("end"),
      mark: () => {
        this.marked = { track: this.model.get("selected"), frame: this.frame };
        this.root.dataset.marked = `${this.marked.track}@${this.marked.frame}`;
        this.say(`marked track ${this.marked.track} at frame ${this.marked.frame}`);
      },
      bridge: () => this.marked && this.request("bridge", { start: this.marked.frame }),
      merge: () => this.marked && this.request("merge", { other: this.marked.track }),
      swap: () => this.marked && this.request("swap", { other: this.marked.track }),
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

  private togglePlay(): void {
    if (this.playing) {
      window.clearInterval(this.playing);
      this.playing = 0;
      delete this.root.dataset.playing;
      return;
    }
    this.root.dataset.playing = "true";
    this.playing = window.setInterval(() => {
      if (this.frame >= this.model.get("total_frames")) this.togglePlay();
      else if (this.cache.bitmap(this.frame + 1)) this.go(this.frame + 1);
      else this.want(); // wait for the kernel rather than skip frames
    }, 1000 / (this.model.get("fps") || 25));
  }

  paint(): void {
    const bm = this.cache.bitmap(this.frame);
    const ctx = this.ctx;
    const d = this.root.dataset;
    d.frame = String(this.frame);
    if (bm) {
      ctx.drawImage(bm, 0, 0, this.model.get("width"), this.model.get("height"));
      d.painted = String(this.frame);
      if (this.stepAt) d.stepMs = (performance.now() - this.stepAt).toFixed(2);
      this.stepAt = 0;
    }
    const selected = this.model.get("selected");
    const boxes: FrameBox[] = this.cache.boxes.get(this.frame) ?? [];
    for (const [id, x, y, w, h, code] of boxes) {
      const box = this.drag && this.drag.id === id ? this.drag.box : [x, y, w, h];
      ctx.lineWidth = id === selected ? 4 : 2;
      ctx.strokeStyle = STATUS_COLOUR[code] ?? "#ffb300";
      ctx.setLineDash(code === 2 ? [6, 4] : []);
      ctx.strokeRect(box[0], box[1], box[2], box[3]);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(id, box[0] + 2, box[1] - 3);
    }
    ctx.setLineDash([]);
    if (this.drag && this.drawing) {
      ctx.strokeStyle = STATUS_COLOUR[4];
      ctx.strokeRect(...this.drag.box);
    }
    d.boxes = String(boxes.length);
    this.paintTimeline();
    this.drawInfo();
  }

  private paintTimeline(): void {
    this.bars.paint(this.timeline, this.model.get("tracks").slice(0, MAX_ROWS),
      this.model.get("selected"), this.model.get("total_frames"), this.frame);
  }

  private drawInfo(): void {
    const tracks = this.model.get("tracks");
    const decided = tracks.filter((t) => t.status !== "pending").length;
    const t = this.selectedTrack();
    this.info.textContent = `frame ${this.frame}/${this.model.get("total_frames")} · `
      + `${decided} of ${tracks.length} tracks decided`
      + (t ? ` · track ${t.id} (${t.label}) ${t.status}, frames ${t.first}-${t.last}` : "")
      + (this.model.get("reviewed") ? " · video reviewed" : "");
    this.root.dataset.selected = this.model.get("selected");
  }

  private onTimeline(e: PointerEvent, select: boolean): void {
    const r = this.timeline.getBoundingClientRect();
    const sx = this.timeline.width / r.width;
    const h = hit(this.model.get("tracks").slice(0, MAX_ROWS), (e.clientX - r.left) * sx,
      (e.clientY - r.top) * (this.timeline.height / r.height), this.model.get("total_frames"),
      this.timeline.width);
    if (select && h.id && h.id !== this.model.get("selected")) this.select(h.id);
    if (h.frame !== this.frame) this.go(h.frame);
  }

  private point(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (this.canvas.width / r.width) / this.scale,
      (e.clientY - r.top) * (this.canvas.height / r.height) / this.scale];
  }

  private onDown(e: PointerEvent): void {
    const [x, y] = this.point(e);
    if (this.drawing) {
      this.drag = { id: "", box: [x, y, 2, 2], x, y, corner: true };
      this.canvas.setPointerCapture(e.pointerId);
      return;
    }
    const boxes = this.cache.boxes.get(this.frame) ?? [];
    const selected = this.model.get("selected");
    const inside = boxes.filter(([, bx, by, bw, bh]) =>
      x >= bx - 6 && x <= bx + bw + 6 && y >= by - 6 && y <= by + bh + 6);
    const b = inside.find((c) => c[0] === selected) ?? inside[0];
    if (!b) return;
    if (b[0] !== selected) this.select(b[0]);
    const corner = Math.abs(x - (b[1] + b[3])) < 10 && Math.abs(y - (b[2] + b[4])) < 10;
    this.drag = { id: b[0], box: [b[1], b[2], b[3], b[4]], x, y, corner };
    this.canvas.setPointerCapture(e.pointerId);
  }

  private onMove(e: PointerEvent): void {
    if (!this.drag) return;
    const [x, y] = this.point(e);
    const d = this.drag;
    const [bx, by, bw, bh] = d.box;
    d.box = d.corner ? [bx, by, Math.max(2, bw + x - d.x), Math.max(2, bh + y - d.y)]
      : [bx + x - d.x, by + y - d.y, bw, bh];
    d.x = x;
    d.y = y;
    this.paint();
  }

  private onUp(): void {
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    if (this.drawing) {
      this.act("new_track"); // drawing ends with this box
      if (d.box[2] <= 3 || d.box[3] <= 3) return;
      const t = this.selectedTrack();
      const has = (this.cache.boxes.get(this.frame) ?? []).some((b) => b[0] === t?.id);
      // A drawn track without a box here: this box is its next keyframe; else a new track.
      if (t && t.status === "added" && !has) this.request("fix", { box: d.box });
      else this.request("new", { box: d.box });
      return;
    }
    const boxes = this.cache.boxes.get(this.frame) ?? [];
    const old = boxes.find((b) => b[0] === d.id);
    if (old && old[1] === d.box[0] && old[2] === d.box[1] && old[3] === d.box[2]
      && old[4] === d.box[3]) return;
    if (old) [old[1], old[2], old[3], old[4]] = d.box; // painted at once, Python follows
    this.request("fix", { track: d.id, box: d.box });
    this.paint();
  }

  dispose(): void {
    if (this.playing) window.clearInterval(this.playing);
    window.clearInterval(this.retry);
    window.clearTimeout(this.saveTimer);
  }
}
