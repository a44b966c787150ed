// A uniform grid over the image: which boxes lie in a region (what to draw, what a rubber band
// selects) and which box is under the pointer, without a listener or a loop per box. Each box is
// registered in every cell it overlaps; cells are sized so a cell holds a few boxes on average.
import type { Box4 } from "./types";

export class GridIndex {
  readonly cell: number;
  readonly cols: number;
  readonly rowsN: number;
  private cells: number[][];
  private boxes: (Box4 | null)[] = [];
  private stamp: Uint32Array = new Uint32Array(0);
  private tick = 0;

  /** An index over `width` x `height` image pixels (boxes outside land in border cells). */
  constructor(readonly width: number, readonly height: number, boxes: readonly Box4[] = []) {
    const area = Math.max(width * height, 1);
    // About 4 boxes per cell on average, never more than 256 x 256 cells.
    const target = Math.max(1, boxes.length / 4);
    this.cell = Math.max(16, Math.sqrt(area / Math.min(target, 65536)));
    this.cols = Math.max(1, Math.ceil(width / this.cell));
    this.rowsN = Math.max(1, Math.ceil(height / this.cell));
    this.cells = Array.from({ length: this.cols * this.rowsN }, () => []);
    boxes.forEach((b, i) => this.insert(i, b));
  }

  get size(): number {
    return this.boxes.length;
  }

  private span(b: Box4): [number, number, number, number] {
    const c = this.cell;
    const clampX = (v: number) => Math.min(this.cols - 1, Math.max(0, Math.floor(v / c)));
    const clampY = (v: number) => Math.min(this.rowsN - 1, Math.max(0, Math.floor(v / c)));
    return [clampX(b[0]), clampY(b[1]), clampX(b[0] + b[2]), clampY(b[1] + b[3])];
  }

  insert(i: number, box: Box4): void {
    while (this.boxes.length <= i) this.boxes.push(null);
    this.boxes[i] = box;
    if (this.stamp.length < this.boxes.length) {
      const s = new Uint32Array(Math.max(16, this.boxes.length * 2));
      s.set(this.stamp);
      this.stamp = s;
    }
    const [c0, r0, c1, r1] = this.span(box);
    for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) this.cells[r * this.cols + c].push(i);
  }

  remove(i: number): void {
    const box = this.boxes[i];
    if (!box) return;
    const [c0, r0, c1, r1] = this.span(box);
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = this.cells[r * this.cols + c];
        const k = cell.indexOf(i);
        if (k >= 0) cell.splice(k, 1);
      }
    }
    this.boxes[i] = null;
  }

  /** Move box `i` to `box` (an edit, a drag). */
  update(i: number, box: Box4): void {
    this.remove(i);
    this.insert(i, box);
  }

  /** Indices of the boxes that intersect [x0, y0, x1, y1], ascending (drawing order). */
  query(x0: number, y0: number, x1: number, y1: number): number[] {
    const out: number[] = [];
    this.tick = (this.tick + 1) >>> 0 || 1;
    const t = this.tick;
    const [c0, r0, c1, r1] = this.span([x0, y0, x1 - x0, y1 - y0]);
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        for (const i of this.cells[r * this.cols + c]) {
          if (this.stamp[i] === t) continue;
          this.stamp[i] = t;
          const b = this.boxes[i];
          if (b && b[0] <= x1 && b[1] <= y1 && b[0] + b[2] >= x0 && b[1] + b[3] >= y0) out.push(i);
        }
      }
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * The box under image point (x, y): of those containing it (within `slack` pixels of an
   * edge), the smallest, so in a dense scene a small box on top of a big one can be picked.
   */
  hit(x: number, y: number, slack = 0, accept: (i: number) => boolean = () => true): number {
    let best = -1;
    let bestArea = Infinity;
    for (const i of this.query(x - slack, y - slack, x + slack, y + slack)) {
      const b = this.boxes[i]!;
      if (x < b[0] - slack || y < b[1] - slack || x > b[0] + b[2] + slack ||
        y > b[1] + b[3] + slack) continue;
      if (!accept(i)) continue;
      const area = b[2] * b[3];
      if (area < bestArea || (area === bestArea && i > best)) {
        best = i;
        bestArea = area;
      }
    }
    return best;
  }
}
