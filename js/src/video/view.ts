// The video widget: frames and boxes in the shared editor (../editor/kindview.ts: zoom, class
// list, requests, keys), plus what is the video's own: the timeline, stepping and playing from
// the frames Python sent ahead, whole-track actions, a dragged box that becomes a keyframe, and
// the full-resolution frame when the view is zoomed past the frames sent ahead.
import type { AnyModel } from "@anywidget/types";
import { type BoxDrag, type EditBox, dragTo, finish, startDrag, startDraw } from "../editor/boxedit";
import { paintBoxes } from "../editor/boxpaint";
import { CONTRACT } from "../editor/contract";
import { el } from "../editor/dom";
import type { AttributeValue } from "../editor/attributes";
import { type AttributeTarget, KindView } from "../editor/kindview";
import { FrameCache } from "./frames";
import { FullFrame } from "./fullres";
import { VIDEO_KEYS, type VideoAction } from "./keys";
import { ROW_H, hit, nextAfter } from "./timeline";
import { TimelinePainter } from "./timelinepaint";
import type { FrameBox, TrackAction, VideoFromPython, VideoTraits } from "./types";

const { behind: BEHIND, ahead: AHEAD } = CONTRACT.media.video;
/** Timeline rows drawn (the most suspect tracks first); Tab reaches the others. */
const MAX_ROWS = 60;

export class VideoView extends KindView<VideoTraits, VideoAction> {
  timeline = el("canvas", "nblabel-timeline");
  cache = new FrameCache(CONTRACT.media.video.keep);
  frame = 1;
  playing = 0;
  marked: { track: string; frame: number } | null = null;
  stepAt = 0;
  drag: BoxDrag | null = null;
  /** The next drag draws a new track's box (key n). */
  drawing = false;
  /** The frame shown at full resolution (asked for when zoomed past the frames sent). */
  private full = new FullFrame((frame) => this.model.send({ kind: "full", frame }),
    () => this.paint());
  private saveTimer = 0;
  private bars = new TimelinePainter();
  private retry = 0;

  constructor(model: AnyModel<VideoTraits>, host: HTMLElement) {
    super(model, host, "video", VIDEO_KEYS,
      { minSide: 480, maxSide: CONTRACT.frame_max_side });
    this.mount(this.timeline);
    this.frame = model.get("frame") || 1;
    this.stage.layout();
    this.sizeTimeline();
    this.wire();
    this.showClasses();
    this.model.send({ kind: "hello" });
    this.want();
    this.paint();
    // The frame shown is not here (a request lost, or one the kernel dropped for a newer
    // place): ask again.
    this.retry = window.setInterval(() => {
      if (!this.cache.has(this.frame)) this.want();
    }, 500);
  }

  size(): [number, number] {
    return [this.model.get("width") || 640, this.model.get("height") || 360];
  }

  protected buttons(): [string, VideoAction][] {
    return [["◀", "prev_frame"], ["▶ play", "play"], ["▶|", "next_frame"],
      ["✓ track", "accept"], ["✗ track", "reject"], ["✂ split", "split"],
      ["+ track", "new_track"], ["done", "complete"]];
  }

  source(): CanvasImageSource | null {
    return this.cache.bitmap(this.frame);
  }

  private sizeTimeline(): void {
    this.bars.reset();
    const rows = Math.max(1, Math.min(MAX_ROWS, this.model.get("tracks").length));
    this.timeline.width = Math.max(320, this.root.clientWidth || 800);
    this.timeline.height = rows * ROW_H + 4;
  }

  private wire(): void {
    const m = this.model;
    m.on("msg:custom", (msg: VideoFromPython, buffers: DataView[]) => this.onMessage(msg, buffers));
    m.on("change:tracks", () => {
      this.sizeTimeline(); // also drops the drawn bars
      this.showClasses();
      this.paint();
    });
    m.on("change:selected", () => {
      this.showClasses();
      this.paint();
    });
    m.on("change:frame", () => {
      if (m.get("frame") !== this.frame) this.go(m.get("frame"));
    });
    // Scrubbing: press on the timeline and drag along it.
    this.timeline.addEventListener("pointerdown", (e) => {
      this.timeline.setPointerCapture(e.pointerId);
      this.onTimeline(e, true);
    });
    this.timeline.addEventListener("pointermove", (e) => {
      if (this.timeline.hasPointerCapture(e.pointerId)) this.onTimeline(e, false);
    });
  }

  private onMessage(msg: VideoFromPython, buffers: DataView[]): void {
    if (this.answered(msg)) return;
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
    } else if (msg.kind === "full") {
      this.full.arrived(msg.frame, buffers[0]);
    }
  }

  private want(): void {
    const total = this.model.get("total_frames");
    const lo = Math.max(1, this.frame - BEHIND);
    const hi = Math.min(total, this.frame + AHEAD);
    const missing = this.cache.missing(lo, hi);
    if (missing.length) this.model.send({ kind: "want", frame: this.frame, missing });
  }

  go(f: number): void {
    const total = this.model.get("total_frames");
    this.frame = Math.min(total, Math.max(1, Math.round(f)));
    this.stepAt = performance.now();
    this.full.steppedAt = this.stepAt;
    this.paint();
    this.want();
    window.clearTimeout(this.saveTimer);
    this.saveTimer = window.setTimeout(() => {
      this.model.set("frame", this.frame);
      this.model.save_changes();
    }, 300);
  }

  protected wheel(e: WheelEvent): boolean {
    this.go(this.frame + (e.deltaY > 0 ? 1 : -1));
    return true;
  }

  private selectedTrack() {
    return this.model.get("tracks").find((t) => t.id === this.model.get("selected")) ?? null;
  }

  protected selectedLabel(): string | null {
    return this.selectedTrack()?.label ?? null;
  }

  private select(id: string): void {
    this.model.set("selected", id);
    this.model.save_changes();
    this.paint();
  }

  private act_(action: TrackAction, extra: Record<string, unknown> = {},
    revert: (() => void) | null = null): void {
    this.request({ kind: "act", action, track: this.model.get("selected"), frame: this.frame,
      ...extra }, revert);
  }

  protected attributeTarget(): AttributeTarget | null {
    const t = this.selectedTrack();
    return t && t.status !== "rejected" ? { key: t.id, label: t.label, values: t.attributes }
      : null;
  }

  protected setAttribute(key: string, name: string, value: AttributeValue | null): void {
    this.act_("attributes", { track: key, values: { [name]: value } });
  }

  /** A class picked: the selected track takes it, whole, or from the frame shown on when the
   *  track was marked here first (key m): an identity that changes class mid-track. */
  protected picked(label: string): void {
    const t = this.selectedTrack();
    if (!t || t.label === label) return;
    const here = this.marked?.track === t.id && this.marked.frame === this.frame;
    this.act_("relabel", { label, from_here: here });
  }

  act(a: VideoAction | "undo" | "redo"): void {
    const tracks = this.model.get("tracks");
    const t = this.selectedTrack();
    const idx = tracks.findIndex((x) => x.id === this.model.get("selected"));
    const table: Record<VideoAction | "undo" | "redo", () => void> = {
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
      accept: () => this.decideTrack("accept"),
      reject: () => this.decideTrack("reject"),
      split: () => this.act_("split"),
      retrack: () => this.act_("retrack"),
      new_track: () => {
        this.drawing = !this.drawing;
        this.root.classList.toggle("nblabel-drawing", this.drawing);
        this.say(this.drawing ? `drag the new track's box on this frame (${this.newLabel()})`
          : "");
      },
      end: () => this.act_("end"),
      mark: () => {
        this.marked = { track: this.model.get("selected"), frame: this.frame };
        this.root.dataset.marked = `${this.marked.track}@${this.marked.frame}`;
        this.say(`marked track ${this.marked.track} at frame ${this.marked.frame}`);
      },
      bridge: () => this.marked && this.act_("bridge", { start: this.marked.frame }),
      merge: () => this.marked && this.act_("merge", { other: this.marked.track }),
      swap: () => this.marked && this.act_("swap", { other: this.marked.track }),
      accept_rest: () => this.act_("accept_rest"),
      complete: () => this.act_("complete"),
      undo: () => this.act_("undo"),
      redo: () => this.act_("redo"),
    };
    table[a]();
  }

  /** The selected track accepted or rejected, painted at once (put back if refused). */
  private decideTrack(action: "accept" | "reject"): void {
    this.decideNow(() => {
      const t = this.selectedTrack();
      if (!t) return null;
      const before = t.status;
      t.status = action === "reject" ? "rejected" : before === "pending" ? "accepted" : before;
      this.bars.reset();
      return () => {
        t.status = before;
        this.bars.reset();
      };
    }, (revert) => this.act_(action, {}, revert));
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
    const [vw, vh] = this.size();
    const bm = this.full.get(this.frame, this.stage.view.scale, vw, vh, this.playing !== 0)
      ?? this.cache.bitmap(this.frame);
    const ctx = this.ctx;
    const d = this.root.dataset;
    const [w, h] = this.size();
    d.frame = String(this.frame);
    this.stage.begin(ctx);
    if (bm) {
      ctx.drawImage(bm, 0, 0, w, h);
      d.painted = String(this.frame);
      d.fullRes = String(bm.width >= w);
      if (this.stepAt) d.stepMs = (performance.now() - this.stepAt).toFixed(2);
      this.stepAt = 0;
    }
    const boxes: FrameBox[] = this.cache.boxes.get(this.frame) ?? [];
    paintBoxes(ctx, boxes.map(([key, x, y, bw, bh, status]) =>
      ({ key, box: [x, y, bw, bh], status, text: key })), this.model.get("selected"),
    this.drag, (n) => this.stage.px(n));
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.stage.painted();
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
    this.root.dataset.decided = String(decided);
    const t = this.selectedTrack();
    this.info.textContent = `frame ${this.frame}/${this.model.get("total_frames")} · `
      + `${decided} of ${tracks.length} tracks decided`
      + (t ? ` · track ${t.id} (${t.label}) ${t.status}, frames ${t.first}-${t.last}` : "")
      + (this.stage.zoom > 1.001 ? ` · zoom ${Math.round(this.stage.zoom * 100)}%` : "")
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

  private editBoxes(): EditBox[] {
    return (this.cache.boxes.get(this.frame) ?? []).map(([key, x, y, w, h]) =>
      ({ key, box: [x, y, w, h], movable: true }));
  }

  protected down(e: PointerEvent): boolean {
    if (e.button !== 0) return false;
    const [x, y] = this.stage.toImage(e);
    if (this.drawing) {
      this.drag = startDraw(x, y);
    } else {
      const [sx, sy] = this.stage.stagePoint(e);
      this.drag = startDrag(this.stage.view, this.editBoxes(), this.model.get("selected"),
        x, y, sx, sy);
      if (!this.drag) return false;
      if (this.drag.key !== this.model.get("selected")) this.select(this.drag.key);
    }
    this.canvas.setPointerCapture(e.pointerId);
    return true;
  }

  protected move(e: PointerEvent): void {
    if (!this.drag) return;
    const [x, y] = this.stage.toImage(e);
    dragTo(this.drag, x, y, ...this.size());
    this.paint();
  }

  protected up(): void {
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    const box = finish(d, this.stage.view);
    if (d.kind === "draw") {
      this.act("new_track"); // drawing ends with this box
      if (!box) return this.paint();
      const t = this.selectedTrack();
      const has = (this.cache.boxes.get(this.frame) ?? []).some((b) => b[0] === t?.id);
      // A drawn track without a box here: this box is its next keyframe; else a new track.
      if (t && t.status === "added" && !has) this.act_("fix", { box });
      else this.act_("new", { box, label: this.newLabel() });
      return;
    }
    if (!box) return this.paint();
    const old = (this.cache.boxes.get(this.frame) ?? []).find((b) => b[0] === d.key);
    const before = old ? ([old[1], old[2], old[3], old[4]] as const) : null;
    if (old) [old[1], old[2], old[3], old[4]] = box; // painted at once, Python follows
    this.act_("fix", { track: d.key, box }, () => { // refused or timed out: put back
      if (old && before) [old[1], old[2], old[3], old[4]] = before;
      this.paint();
    });
    this.paint();
  }

  dispose(): void {
    this.leaveView();
    if (this.playing) window.clearInterval(this.playing);
    window.clearInterval(this.retry);
    window.clearTimeout(this.saveTimer);
    this.full.dispose();
  }
}
