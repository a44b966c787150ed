// Polygon editing of a mask (key g): Python sends the mask's outline; corners are dragged,
// added and removed here, and the polygon goes back to Python once per change (on release),
// which fills it into the mask. Pure geometry below, tested in tests/polygon.test.ts.

export type Pt = [number, number];

/** The index of the corner within `tol` of (x, y), the nearest one; -1 if none. */
export function nearestVertex(pts: readonly Pt[], x: number, y: number, tol: number): number {
  let best = -1;
  let bestD = tol * tol;
  pts.forEach(([px, py], i) => {
    const d = (px - x) ** 2 + (py - y) ** 2;
    if (d <= bestD) {
      best = i;
      bestD = d;
    }
  });
  return best;
}

/** The edge within `tol` of (x, y): where a new corner goes (`at`: its index once inserted)
 *  and the nearest point on the edge; null if no edge is that close. An open line
 *  (`closed` false, a polyline) has no edge from its last point back to its first. */
export function nearestEdge(pts: readonly Pt[], x: number, y: number, tol: number,
  closed = true): { at: number; point: Pt } | null {
  let best: { at: number; point: Pt } | null = null;
  let bestD = tol * tol;
  for (let i = 0; i < (closed ? pts.length : pts.length - 1); i++) {
    const [ax, ay] = pts[i];
    const [bx, by] = pts[(i + 1) % pts.length];
    const dx = bx - ax;
    const dy = by - ay;
    const len = dx * dx + dy * dy;
    const t = len > 0 ? Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / len)) : 0;
    const qx = ax + t * dx;
    const qy = ay + t * dy;
    const d = (qx - x) ** 2 + (qy - y) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = { at: i + 1, point: [qx, qy] };
    }
  }
  return best;
}

/** The polygon being edited: whose mask (or polyline), its corners, the corner being dragged.
 *  An open polyline (`closed` false) keeps 2 corners at least, a polygon 3. */
export class PolygonEdit {
  key: string | null = null;
  points: Pt[] = [];
  closed = true;
  private dragging = -1;
  private changed = false;

  get on(): boolean {
    return this.key !== null;
  }

  start(key: string, closed = true): void {
    this.key = key;
    this.points = [];
    this.closed = closed;
    this.dragging = -1;
  }

  private get least(): number {
    return this.closed ? 3 : 2;
  }

  stop(): void {
    this.key = null;
    this.points = [];
    this.dragging = -1;
  }

  /** A press at (x, y), `tol` image pixels around: on a corner starts dragging it (Shift:
   *  removes it, keeping 3 at least); on an edge adds a corner there and drags it. False when
   *  the press is on neither (the caller pans). */
  down(x: number, y: number, tol: number, remove: boolean): boolean {
    if (!this.on || this.points.length < this.least) return false;
    this.changed = false;
    const v = nearestVertex(this.points, x, y, tol);
    if (v >= 0) {
      if (remove) {
        if (this.points.length > this.least) {
          this.points.splice(v, 1);
          this.changed = true;
        }
        this.dragging = -1;
      } else {
        this.dragging = v;
      }
      return true;
    }
    if (remove) return false;
    const e = nearestEdge(this.points, x, y, tol, this.closed);
    if (!e) return false;
    this.points.splice(e.at, 0, e.point);
    this.dragging = e.at;
    this.changed = true;
    return true;
  }

  move(x: number, y: number): void {
    if (this.dragging < 0) return;
    this.points[this.dragging] = [x, y];
    this.changed = true;
  }

  /** The release: the corners to send when something changed, else null. */
  up(): Pt[] | null {
    this.dragging = -1;
    const changed = this.changed;
    this.changed = false;
    return changed ? this.points.map(([x, y]) => [x, y] as Pt) : null;
  }
}
