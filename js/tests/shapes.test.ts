import { describe, expect, it } from "vitest";
import { keyName } from "../src/editor/keyset";
import { nearestEdge, PolygonEdit } from "../src/editor/polygon";
import { SHAPE_KEYS } from "../src/shapes/keys";
import { confColour, hitPoint, nextShape, pointOrder, stepPoint } from "../src/shapes/model";
import type { WireShape } from "../src/shapes/types";

function shape(id: string, status = 0, conf: (number | null)[] = [0.9, 0.2, 0.5]): WireShape {
  return { id, label: "person", points: [[10, 10], [20, 20], null], conf,
    vis: [true, true, true], pst: [0, 0, 0], status, closed: false, attributes: null };
}

describe("shapes model", () => {
  it("hits the nearest point, the selected shape first, never a rejected one", () => {
    const a = shape("a");
    const b = { ...shape("b"), points: [[11, 11], [50, 50], null] as WireShape["points"] };
    expect(hitPoint([a, b], 10.5, 10.5, 3, "b")).toEqual({ shape: "b", point: 0 });
    expect(hitPoint([a, b], 20, 21, 3, "b")).toEqual({ shape: "a", point: 1 });
    expect(hitPoint([{ ...a, status: 2 }], 10, 10, 3, "")).toBeNull();
    expect(hitPoint([a], 80, 80, 3, "a")).toBeNull();
  });

  it("visits present points least confident first", () => {
    const s = shape("a");
    expect(pointOrder(s)).toEqual([1, 0]);
    expect(stepPoint(s, -1, 1)).toBe(1);
    expect(stepPoint(s, 1, 1)).toBe(0);
    expect(stepPoint(s, 0, 1)).toBe(1);
    expect(stepPoint(s, 1, -1)).toBe(0);
  });

  it("goes to pending shapes first", () => {
    const shapes = [shape("done", 1), shape("p1"), shape("p2")];
    expect(nextShape(shapes, "", 1)).toBe("p1");
    expect(nextShape(shapes, "p2", 1)).toBe("done");
    expect(nextShape([], "x", 1)).toBe("");
  });

  it("colours confidence from red to green, grey for none", () => {
    expect(confColour(null)).toBe("#9e9e9e");
    expect(confColour(0)).toBe("rgb(220,60,40)");
    expect(confColour(1)).toBe("rgb(40,210,40)");
  });
});

describe("open polylines", () => {
  it("have no closing edge, and keep two vertices", () => {
    const pts: [number, number][] = [[0, 0], [10, 0], [10, 10]];
    expect(nearestEdge(pts, 5, 5, 1, true)?.at).toBe(3);
    expect(nearestEdge(pts, 5, 5, 1, false)).toBeNull();
    const edit = new PolygonEdit();
    edit.start("line", false);
    edit.points = [[0, 0], [10, 0], [20, 0]];
    expect(edit.down(10, 0, 2, true)).toBe(true); // Shift: removes the vertex
    expect(edit.up()).toEqual([[0, 0], [20, 0]]);
    expect(edit.down(20, 0, 2, true)).toBe(true);
    expect(edit.up()).toBeNull(); // two is the least an open line keeps
  });
});

describe("shape keys", () => {
  it("are bound once, with help for each", () => {
    expect(SHAPE_KEYS.action({ key: "v", ctrlKey: false, metaKey: false, shiftKey: false }))
      .toBe("hide_point");
    expect(keyName({ key: "Enter", ctrlKey: false, metaKey: false, shiftKey: true }))
      .toBe("Shift+Enter");
    expect(SHAPE_KEYS.help().some(([k, h]) => k === "Shift+Enter" && h.includes("closed")))
      .toBe(true);
  });
});
