// Pure rules of the shapes widget (tested in tests/shapes.test.ts): which shape and point a
// press hits, the order points are visited in, and the colour of a confidence.
import { nearestVertex, type Pt } from "../editor/polygon";
import type { WireShape } from "./types";

/** The shape and point within `tol` of (x, y); the selected shape wins a tie. */
export function hitPoint(shapes: readonly WireShape[], x: number, y: number, tol: number,
  selected: string): { shape: string; point: number } | null {
  const order = [...shapes].sort((a, b) => Number(b.id === selected) - Number(a.id === selected));
  for (const s of order) {
    if (s.status === 2) continue; // rejected shapes are not edited
    const pts = s.points.map((p) => p ?? [Number.NaN, Number.NaN]) as Pt[];
    const i = nearestVertex(pts, x, y, tol);
    if (i >= 0) return { shape: s.id, point: i };
  }
  return null;
}

/** A shape's points in review order: present ones, least confident first (then by index). */
export function pointOrder(s: WireShape): number[] {
  return s.points.map((_, i) => i).filter((i) => s.points[i] !== null)
    .sort((a, b) => (s.conf[a] ?? 1) - (s.conf[b] ?? 1) || a - b);
}

/** The point after (or before, `step` -1) `current` in :func:`pointOrder`. */
export function stepPoint(s: WireShape, current: number, step: 1 | -1): number {
  const order = pointOrder(s);
  if (!order.length) return -1;
  const at = order.indexOf(current);
  if (at < 0) return order[0];
  return order[(at + step + order.length) % order.length];
}

/** Red (0) through amber to green (1) for a confidence; grey when there is none. */
export function confColour(c: number | null): string {
  if (c === null) return "#9e9e9e";
  const t = Math.max(0, Math.min(1, c));
  const r = Math.round(t < 0.5 ? 220 : 220 - (t - 0.5) * 2 * 180);
  const g = Math.round(t < 0.5 ? 60 + t * 2 * 150 : 210);
  return `rgb(${r},${g},40)`;
}

/** The shape after `current` among `shapes`, pending ones first (wrapping). */
export function nextShape(shapes: readonly WireShape[], current: string, step: 1 | -1): string {
  if (!shapes.length) return "";
  const order = [...shapes.filter((s) => s.status === 0), ...shapes.filter((s) => s.status !== 0)];
  const at = order.findIndex((s) => s.id === current);
  return order[(at + step + order.length) % order.length].id;
}
