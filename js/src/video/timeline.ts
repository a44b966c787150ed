// The timeline, pure: where each track's bar lies, its colour by confidence, and which track
// and frame a point on it means. Unit-tested in Node (js/tests/timeline.test.ts).
import type { TrackSummary } from "./types";

export const ROW_H = 14;
export const LABEL_W = 90;

export interface Bar { id: string; row: number; x: number; w: number; status: string }
export interface Piece { x: number; w: number; colour: string }

/** x (px) of frame `f` on a timeline `width` px wide for `total` frames. */
export function frameX(f: number, total: number, width: number): number {
  const span = Math.max(1, width - LABEL_W);
  return LABEL_W + ((f - 1) / Math.max(1, total - 1)) * span;
}

/** The frame at x (clamped to the video). */
export function xFrame(x: number, total: number, width: number): number {
  const span = Math.max(1, width - LABEL_W);
  const f = Math.round(((x - LABEL_W) / span) * Math.max(1, total - 1)) + 1;
  return Math.min(total, Math.max(1, f));
}

export function bars(tracks: TrackSummary[], total: number, width: number): Bar[] {
  return tracks.map((t, row) => {
    const x = frameX(t.first, total, width);
    return { id: t.id, row, x, w: Math.max(2, frameX(t.last, total, width) - x),
      status: t.status };
  });
}

/** Red (low) to green (high) confidence; grey where there is none. */
export function confColour(c: number | null): string {
  if (c === null) return "#9e9e9e";
  const v = Math.min(1, Math.max(0, c));
  return `hsl(${Math.round(v * 120)}, 70%, 45%)`;
}

/** A bar's pieces coloured by the track's confidence. */
export function pieces(t: TrackSummary, bar: Bar): Piece[] {
  const n = Math.max(1, t.conf.length);
  const w = bar.w / n;
  return (t.conf.length ? t.conf : [null]).map((c, i) => ({ x: bar.x + i * w, w: Math.max(1, w),
    colour: confColour(c) }));
}

/** The track (row) and frame under a point, or null outside the rows. */
export function hit(tracks: TrackSummary[], x: number, y: number, total: number,
  width: number): { id: string | null; frame: number } {
  const row = Math.floor(y / ROW_H);
  const id = row >= 0 && row < tracks.length ? tracks[row].id : null;
  return { id, frame: xFrame(x, total, width) };
}

/** The first frame in `frames` after `after`, or null. */
export function nextAfter(frames: number[], after: number): number | null {
  let best: number | null = null;
  for (const f of frames) if (f > after && (best === null || f < best)) best = f;
  return best;
}
