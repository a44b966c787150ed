import { describe, expect, it } from "vitest";
import { PolygonEdit, type Pt, nearestEdge, nearestVertex } from "../src/editor/polygon";

const square: Pt[] = [[0, 0], [10, 0], [10, 10], [0, 10]];

describe("polygon geometry", () => {
  it("finds the nearest corner within the tolerance only", () => {
    expect(nearestVertex(square, 9, 1, 2)).toBe(1);
    expect(nearestVertex(square, 5, 5, 2)).toBe(-1);
  });

  it("finds the edge under the pointer and where a corner goes", () => {
    const e = nearestEdge(square, 5, 0.5, 1);
    expect(e).not.toBeNull();
    expect(e!.at).toBe(1);
    expect(e!.point).toEqual([5, 0]);
    expect(nearestEdge(square, 5, 0.5, 1)!.point[1]).toBe(0);
    expect(nearestEdge(square, 0.5, 5, 1)!.at).toBe(4); // the closing edge: appended
    expect(nearestEdge(square, 5, 5, 1)).toBeNull();
  });
});

describe("PolygonEdit", () => {
  const edit = () => {
    const p = new PolygonEdit();
    p.start("k");
    p.points = square.map(([x, y]) => [x, y] as Pt);
    return p;
  };

  it("drags a corner and sends the polygon once, on release", () => {
    const p = edit();
    expect(p.down(10, 10, 1, false)).toBe(true);
    p.move(12, 13);
    p.move(14, 15);
    expect(p.up()).toEqual([[0, 0], [10, 0], [14, 15], [0, 10]]);
    expect(p.up()).toBeNull();
  });

  it("a press on a corner without moving changes nothing", () => {
    const p = edit();
    expect(p.down(0, 0, 1, false)).toBe(true);
    expect(p.up()).toBeNull();
  });

  it("adds a corner on an edge, and Shift removes one but keeps a triangle", () => {
    const p = edit();
    expect(p.down(5, 0, 1, false)).toBe(true);
    expect(p.up()).toHaveLength(5);
    expect(p.down(5, 0, 1, true)).toBe(true);
    expect(p.up()).toHaveLength(4);
    p.down(0, 0, 1, true);
    p.up();
    expect(p.points).toHaveLength(3);
    expect(p.down(10, 0, 1, true)).toBe(true);
    expect(p.up()).toBeNull();
    expect(p.points).toHaveLength(3);
  });

  it("ignores presses away from the polygon, and everything when stopped", () => {
    const p = edit();
    expect(p.down(5, 5, 1, false)).toBe(false);
    p.stop();
    expect(p.on).toBe(false);
    expect(p.down(0, 0, 1, false)).toBe(false);
  });
});
