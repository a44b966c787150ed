// The timeline on its canvas: the bars drawn once per change of the tracks or the selection,
// kept on an offscreen canvas, so a step only moves the playhead over them.
import { LABEL_W, ROW_H, bars, frameX, pieces } from "./timeline";
import type { TrackSummary } from "./types";

export class TimelinePainter {
  private base: HTMLCanvasElement | null = null;
  private key = "";

  /** The tracks changed: draw the bars again at the next paint. */
  reset(): void {
    this.base = null;
  }

  paint(canvas: HTMLCanvasElement, tracks: TrackSummary[], selected: string, total: number,
    frame: number): void {
    const w = canvas.width;
    const key = `${selected}|${w}|${canvas.height}`;
    if (!this.base || this.key !== key) {
      this.base = drawBars(tracks, selected, total, w, canvas.height);
      this.key = key;
    }
    const ctx = canvas.getContext("2d")!;
    ctx.clearRect(0, 0, w, canvas.height);
    ctx.drawImage(this.base, 0, 0);
    ctx.fillStyle = "#d32f2f";
    ctx.fillRect(frameX(frame, total, w), 0, 2, canvas.height);
  }
}

function drawBars(tracks: TrackSummary[], selected: string, total: number, w: number,
  h: number): HTMLCanvasElement {
  const base = document.createElement("canvas");
  base.width = w;
  base.height = h;
  const ctx = base.getContext("2d")!;
  bars(tracks, total, w).forEach((bar, i) => {
    const t = tracks[i];
    const y = bar.row * ROW_H + 2;
    if (t.id === selected) {
      ctx.fillStyle = "rgba(25,118,210,0.15)";
      ctx.fillRect(0, y - 1, w, ROW_H);
    }
    ctx.fillStyle = "#444";
    ctx.fillText(fitText(ctx, `${t.id} ${t.label} · ${t.status}`, LABEL_W - 4), 2,
      y + ROW_H - 4);
    ctx.globalAlpha = t.status === "rejected" ? 0.25 : 1;
    for (const p of pieces(t, bar)) {
      ctx.fillStyle = p.colour;
      ctx.fillRect(p.x, y + 2, p.w, ROW_H - 6);
    }
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#000";
    for (const f of t.flags) ctx.fillRect(frameX(f, total, w), y, 1, 3);
    for (const f of t.keyframes) ctx.fillRect(frameX(f, total, w) - 2, y + ROW_H - 5, 4, 4);
  });
  return base;
}

/** `text` cut with an ellipsis to fit `width` pixels. */
function fitText(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let t = text;
  while (t.length > 1 && ctx.measureText(`${t}…`).width > width) t = t.slice(0, -1);
  return `${t}…`;
}
