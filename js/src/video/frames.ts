// Frames sent ahead by Python: decoded JPEGs and the boxes on them, kept in a bounded cache
// (least recently shown first out), so stepping never waits for the kernel.
import { Asked } from "../editor/asked";
import type { FrameBox } from "./types";

export class FrameCache {
  private images = new Map<number, ImageBitmap | Promise<ImageBitmap | null>>();
  /** Frames asked for and not yet here (asked again after 2 s). */
  private asked = new Asked(2000);
  boxes = new Map<number, FrameBox[]>();

  constructor(private limit = 160) {}

  has(f: number): boolean {
    return this.images.has(f);
  }

  bitmap(f: number): ImageBitmap | null {
    const v = this.images.get(f);
    if (!v || v instanceof Promise) return null;
    this.images.delete(f); // most recently used last
    this.images.set(f, v);
    return v;
  }

  put(f: number, data: DataView, onReady: (f: number) => void): void {
    this.asked.arrived(f);
    const blob = new Blob([data.buffer.slice(data.byteOffset, data.byteOffset
      + data.byteLength) as ArrayBuffer], { type: "image/jpeg" });
    const p = createImageBitmap(blob).then((bm) => {
      this.images.set(f, bm);
      onReady(f);
      return bm;
    }, () => null);
    this.images.set(f, p);
    while (this.images.size > this.limit) {
      const oldest = this.images.keys().next().value as number;
      const v = this.images.get(oldest);
      if (v && !(v instanceof Promise)) v.close();
      this.images.delete(oldest);
    }
  }

  /** Frames of [lo, hi] neither held nor asked for in the last 2 s; they count as asked. */
  missing(lo: number, hi: number, now = performance.now()): number[] {
    return this.asked.missing(lo, hi, (f) => this.images.has(f), now);
  }
}
