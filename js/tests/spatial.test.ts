import { describe, expect, it } from "vitest";
import { GridIndex } from "../src/image/spatial";
import type { Box4 } from "../src/image/types";

function random(n: number, W: number, H: number, seed = 3): Box4[] {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: n }, () => {
    const w = 5 + rnd() * 40;
    const h = 5 + rnd() * 40;
    return [rnd() * (W - w), rnd() * (H - h), w, h] as Box4;
  });
}

const brute = (boxes: Box4[], x0: number, y0: number, x1: number, y1: number) =>
  boxes.map((b, i) => [b, i] as const)
    .filter(([b]) => b[0] <= x1 && b[1] <= y1 && b[0] + b[2] >= x0 && b[1] + b[3] >= y0)
    .map(([, i]) => i);

describe("GridIndex", () => {
  const boxes = random(10000, 6000, 4000);
  const index = new GridIndex(6000, 4000, boxes);

  it("finds exactly the boxes in a region", () => {
    for (const [x0, y0, x1, y1] of [[0, 0, 6000, 4000], [100, 200, 400, 300], [5990, 3990, 7000, 5000],
      [-50, -50, 10, 10]]) {
      expect(index.query(x0, y0, x1, y1)).toEqual(brute(boxes, x0, y0, x1, y1));
    }
  });

  it("picks the smallest box under a point", () => {
    const small = new GridIndex(100, 100, [[0, 0, 100, 100], [40, 40, 20, 20], [45, 45, 5, 5]]);
    expect(small.hit(47, 47)).toBe(2);
    expect(small.hit(41, 41)).toBe(1);
    expect(small.hit(5, 5)).toBe(0);
    expect(small.hit(47, 47, 0, (i) => i !== 2)).toBe(1);
    expect(new GridIndex(100, 100, []).hit(5, 5)).toBe(-1);
  });

  it("follows a moved box", () => {
    const g = new GridIndex(1000, 1000, [[10, 10, 10, 10], [500, 500, 10, 10]]);
    g.update(0, [900, 900, 20, 20]);
    expect(g.hit(15, 15)).toBe(-1);
    expect(g.hit(905, 905)).toBe(0);
    expect(g.query(0, 0, 1000, 1000)).toEqual([0, 1]);
  });
});
