// Images that arrived ahead of time (prefetch), decoded off the main thread, with their rows:
// moving on shows them without a round trip to the kernel.
import type { ImageMeta, Row } from "./types";

export interface Entry {
  position: number;
  meta: ImageMeta;
  rows: Row[];
  selected: string | null; // Python's choice of the first box to select
  bitmap: ImageBitmap | null;
  decoded: boolean;
  promise: Promise<ImageBitmap | null>;
}

/** Decode image bytes (null for no bytes or bytes that do not decode). */
export function decode(data: DataView | null | undefined, mime: string): Promise<ImageBitmap | null> {
  if (!data || data.byteLength === 0) return Promise.resolve(null);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return createImageBitmap(new Blob([bytes], { type: mime || "image/jpeg" })).catch(() => null);
}

export class ImageCache {
  private bySample = new Map<string, Entry>();
  private byPosition = new Map<number, string>();

  constructor(private size = 12) {}

  get(sampleId: string | null): Entry | undefined {
    return sampleId ? this.bySample.get(sampleId) : undefined;
  }

  at(position: number): Entry | undefined {
    const sid = this.byPosition.get(position);
    return sid ? this.bySample.get(sid) : undefined;
  }

  /** Keep a sample (decoding its image now); `keep` is never evicted (the image on screen). */
  remember(meta: ImageMeta, data: DataView | null, rows: Row[], position: number,
    keep: string | null, selected: string | null): Entry {
    const entry: Entry = { position, meta, rows, selected, bitmap: null, decoded: false,
      promise: Promise.resolve(null) };
    entry.promise = decode(data, meta.image_mime).then((bitmap) => {
      entry.bitmap = bitmap;
      entry.decoded = true;
      return bitmap;
    });
    const old = this.bySample.get(meta.sample_id);
    if (old && old.bitmap) old.bitmap.close();
    this.bySample.set(meta.sample_id, entry);
    this.byPosition.set(position, meta.sample_id);
    for (const [sid, e] of [...this.bySample.entries()]) {
      if (this.bySample.size <= this.size) break;
      if (sid === keep) continue;
      this.bySample.delete(sid);
      if (e.bitmap) e.bitmap.close();
    }
    return entry;
  }

  /** Replace a sample's image (the full resolution arrived). */
  replaceBitmap(sampleId: string, bitmap: ImageBitmap): void {
    const e = this.bySample.get(sampleId);
    if (!e) return;
    if (e.bitmap && e.bitmap !== bitmap) e.bitmap.close();
    e.bitmap = bitmap;
  }

  close(): void {
    for (const e of this.bySample.values()) if (e.bitmap) e.bitmap.close();
    this.bySample.clear();
    this.byPosition.clear();
  }
}
