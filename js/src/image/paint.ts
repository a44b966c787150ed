// Canvas painting shared by the box and live layers: a screen-space painter (boxes, handles,
// labels, in device pixels from image points) and instance masks tinted in their class colour,
// decoded once per mask buffer.
import { type LineStyle, textOn } from "./style";
import type { Box4 } from "./types";

export const FONT = 11;
export const LABEL_H = FONT + 4;
export const LABEL_MAX_W = 180;

/** A mask PNG (white inside) as a canvas tinted with `colour`, transparent outside. */
export async function tintMask(png: Uint8Array, colour: string): Promise<HTMLCanvasElement> {
  const bmp = await createImageBitmap(new Blob([png as BlobPart], { type: "image/png" }));
  const c = document.createElement("canvas");
  c.width = bmp.width;
  c.height = bmp.height;
  const g = c.getContext("2d")!;
  g.drawImage(bmp, 0, 0);
  const px = g.getImageData(0, 0, c.width, c.height);
  const [r, gg, b] = [1, 3, 5].map((k) => parseInt(colour.slice(k, k + 2), 16));
  for (let i = 0; i < px.data.length; i += 4) {
    const inside = px.data[i]; // white inside, black outside
    px.data[i] = r;
    px.data[i + 1] = gg;
    px.data[i + 2] = b;
    px.data[i + 3] = inside;
  }
  g.putImageData(px, 0, 0);
  bmp.close();
  return c;
}

/** Tinted instance masks, decoded once per mask buffer. */
export class MaskCache {
  private done = new WeakMap<DataView, HTMLCanvasElement | null>();
  private pending = new WeakSet<DataView>();
  constructor(private onReady: () => void) {}

  get(mask: DataView, colour: string): HTMLCanvasElement | null {
    const hit = this.done.get(mask);
    if (hit !== undefined) return hit;
    if (!this.pending.has(mask)) {
      this.pending.add(mask);
      const bytes = new Uint8Array(mask.buffer, mask.byteOffset, mask.byteLength).slice();
      tintMask(bytes, colour).then((c) => {
        this.done.set(mask, c);
        this.onReady();
      }).catch(() => {
        this.done.set(mask, null);
      });
    }
    return null;
  }
}

/** Screen-space painter shared by both layers: image point -> device pixel via (k, ox, oy). */
export class Painter {
  constructor(readonly g: CanvasRenderingContext2D, readonly k: number, readonly ox: number,
    readonly oy: number, readonly dpr: number) {}

  X(x: number): number {
    return Math.round(x * this.k - this.ox);
  }

  Y(y: number): number {
    return Math.round(y * this.k - this.oy);
  }

  rect(path: Path2D, b: Box4, inset = 0.5): void {
    const x0 = this.X(b[0]);
    const y0 = this.Y(b[1]);
    const x1 = this.X(b[0] + b[2]);
    const y1 = this.Y(b[1] + b[3]);
    path.rect(x0 + inset, y0 + inset, Math.max(1, x1 - x0 - 1), Math.max(1, y1 - y0 - 1));
  }

  stroke(path: Path2D, colour: string, st: LineStyle): void {
    const g = this.g;
    if (st.fill > 0) {
      g.globalAlpha = st.fill;
      g.fillStyle = colour;
      g.fill(path);
    }
    g.globalAlpha = st.alpha;
    g.strokeStyle = colour;
    g.lineWidth = st.width * this.dpr;
    g.setLineDash(st.dash.map((d) => d * this.dpr));
    g.stroke(path);
    g.globalAlpha = 1;
    g.setLineDash([]);
  }

  /** Square handles (white, black border) of side `side` CSS px at image points. */
  handles(points: Iterable<readonly [number, number]>, side: number): void {
    const g = this.g;
    const s = side * this.dpr;
    g.fillStyle = "#fff";
    g.strokeStyle = "#000";
    g.lineWidth = this.dpr;
    for (const [x, y] of points) {
      g.fillRect(this.X(x) - s / 2, this.Y(y) - s / 2, s, s);
      g.strokeRect(this.X(x) - s / 2 + 0.5, this.Y(y) - s / 2 + 0.5, s - 1, s - 1);
    }
  }

  /** A label: a pill in the class colour with black or white text, above the box. */
  label(text: string, colour: string, b: Box4): void {
    const g = this.g;
    const d = this.dpr;
    g.font = `${FONT * d}px system-ui, sans-serif`;
    const w = Math.min(g.measureText(text).width + 6 * d, LABEL_MAX_W * d);
    const h = LABEL_H * d;
    const x = this.X(b[0]);
    let y = this.Y(b[1]) - h;
    if (y < 0) y = this.Y(b[1]); // no room above: inside the box
    g.globalAlpha = 0.85;
    g.fillStyle = colour;
    g.fillRect(x, y, w, h);
    g.globalAlpha = 1;
    g.fillStyle = textOn(colour);
    g.textBaseline = "middle";
    g.fillText(text, x + 3 * d, y + h / 2, w - 6 * d);
  }
}
