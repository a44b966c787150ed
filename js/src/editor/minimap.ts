// The overview when zoomed in: the whole image small, the part on screen outlined; a click or a
// drag on it moves the view there.
import { type View, visibleRegion } from "./view";

const WIDTH = 180;

export class Minimap {
  readonly canvas: HTMLCanvasElement;
  private g: CanvasRenderingContext2D;
  private thumb: HTMLCanvasElement | null = null;
  private source: CanvasImageSource | null = null;
  private w = 0;
  private h = 0;

  constructor(onPick: (x: number, y: number) => void) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "nblabel-minimap";
    this.g = this.canvas.getContext("2d")!;
    let down = false;
    const pick = (e: MouseEvent) => {
      const r = this.canvas.getBoundingClientRect();
      const k = this.w / Math.max(r.width, 1);
      onPick((e.clientX - r.left) * k, (e.clientY - r.top) * k);
    };
    this.canvas.addEventListener("mousedown", (e) => {
      e.preventDefault();
      e.stopPropagation();
      down = true;
      pick(e);
    });
    window.addEventListener("mousemove", (e) => down && pick(e));
    window.addEventListener("mouseup", () => (down = false));
  }

  /** A new image: its small copy is made from `source` when the minimap is first needed
   *  (zoomed in), not on every image: downscaling a large image costs milliseconds. */
  setImage(source: CanvasImageSource | null, w: number, h: number): void {
    this.w = w;
    this.h = h;
    this.thumb = null;
    this.source = source;
  }

  private makeThumb(): HTMLCanvasElement | null {
    const source = this.source;
    if (!source || !this.w || !this.h) return null;
    // A broken image leaves a 0-size canvas: drawing it throws, and there is nothing to show.
    const size = source as { width?: number; height?: number };
    if (size.width === 0 || size.height === 0) return null;
    const t = document.createElement("canvas");
    t.width = WIDTH;
    t.height = Math.max(1, Math.round((WIDTH * this.h) / this.w));
    t.getContext("2d")!.drawImage(source, 0, 0, t.width, t.height);
    return t;
  }

  /** Show it when the view shows only part of the image; outline that part. */
  draw(view: View, W: number, H: number): void {
    const [x0, y0, x1, y1] = visibleRegion(view, W, H);
    const whole = x0 <= 0 && y0 <= 0 && x1 >= this.w && y1 >= this.h;
    if (!whole && !this.thumb) this.thumb = this.makeThumb();
    this.canvas.style.display = whole || !this.thumb ? "none" : "";
    this.canvas.dataset.visible = String(!whole && Boolean(this.thumb));
    if (whole || !this.thumb) return;
    const t = this.thumb;
    if (this.canvas.width !== t.width || this.canvas.height !== t.height) {
      this.canvas.width = t.width;
      this.canvas.height = t.height;
    }
    const g = this.g;
    g.drawImage(t, 0, 0);
    const k = t.width / this.w;
    g.strokeStyle = "#ffeb3b";
    g.lineWidth = 2;
    g.strokeRect(x0 * k, y0 * k, (x1 - x0) * k, (y1 - y0) * k);
  }
}
