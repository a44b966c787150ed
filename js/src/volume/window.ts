// Window/level in the browser (tested in tests/volume.test.ts): raw slice pixels to grey
// through a window, as DICOM's linear VOI function, with a lookup table for 16-bit slices so a
// window drag repaints a 512 x 512 slice in a few milliseconds.

import type { SliceEncoding } from "./types";

export type Raw = Int16Array | Float32Array;

/** The grey level (0-255) of `v` through the window (centre `c`, width `w`). */
export function grey(v: number, c: number, w: number): number {
  const g = ((v - (c - w / 2)) * 255) / Math.max(w, 1e-6);
  return g <= 0 ? 0 : g >= 255 ? 255 : Math.round(g);
}

/** A table of grey levels for every int16 value (index = value + 32768). */
export function lut(c: number, w: number): Uint8Array {
  const out = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) out[i] = grey(i - 32768, c, w);
  return out;
}

/** Fill `rgba` (4 bytes a pixel) with the grey of `raw` through the window. */
export function paintGrey(raw: Raw, rgba: Uint8ClampedArray, c: number, w: number,
  table: Uint8Array | null): void {
  const n = raw.length;
  if (raw instanceof Int16Array && table) {
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      const g = table[raw[i] + 32768];
      rgba[j] = g;
      rgba[j + 1] = g;
      rgba[j + 2] = g;
      rgba[j + 3] = 255;
    }
    return;
  }
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    const g = grey(raw[i], c, w);
    rgba[j] = g;
    rgba[j + 1] = g;
    rgba[j + 2] = g;
    rgba[j + 3] = 255;
  }
}

/** The window after a drag of (dx, dy) screen pixels from `start`: sideways changes the
 *  width, up and down the centre, in proportion to the width (as radiology viewers do). */
export function dragWindow(start: [number, number], dx: number, dy: number): [number, number] {
  const [c, w] = start;
  const k = Math.max(w, 1) / 256;
  return [c - dy * k, Math.max(1, w + dx * k * 2)];
}

/** Int16 pixels from their two byte planes (all low bytes, then all high bytes). */
export function unshuffle(planes: Uint8Array): Int16Array {
  const n = planes.length >> 1;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = planes[i] | (planes[n + i] << 8);
  return out;
}

/** The raw slice from a message buffer, as Python encodes it (``_wire``). */
export async function toRaw(view: DataView, dtype: SliceEncoding): Promise<Raw> {
  const buf = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer;
  if (dtype === "float32") return new Float32Array(buf);
  const stream = new Blob([buf]).stream().pipeThrough(new DecompressionStream("deflate"));
  return unshuffle(new Uint8Array(await new Response(stream).arrayBuffer()));
}
