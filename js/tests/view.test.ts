import { describe, expect, it } from "vitest";
import {
  clipBox, createView, fit, handleAt, resizeBox, toImage, toStage, visibleRegion, zoomAt,
} from "../src/editor/view";

describe("view geometry", () => {
  it("fits and centres an image", () => {
    const v = fit(createView(), 6000, 4000, 1200, 600);
    expect(v.scale).toBeCloseTo(0.15);
    expect(v.tx).toBeCloseTo((1200 - 900) / 2);
    expect(v.ty).toBeCloseTo(0);
  });

  it("zooms about a fixed stage point, exactly", () => {
    const v = fit(createView(), 1920, 1080, 960, 540);
    const before = toImage(v, 300, 200);
    zoomAt(v, 3.7, 300, 200);
    const after = toImage(v, 300, 200);
    expect(after[0]).toBeCloseTo(before[0], 9);
    expect(after[1]).toBeCloseTo(before[1], 9);
    const [sx, sy] = toStage(v, ...after);
    expect(sx).toBeCloseTo(300, 9);
    expect(sy).toBeCloseTo(200, 9);
  });

  it("reports the visible region", () => {
    const v = { scale: 2, tx: -100, ty: -50 };
    expect(visibleRegion(v, 400, 300)).toEqual([50, 25, 250, 175]);
  });

  it("clips boxes to the image and drops what is left of nothing", () => {
    expect(clipBox([-10, -10, 30, 30], 100, 100)).toEqual([0, 0, 20, 20]);
    expect(clipBox([95, 95, 30, 30], 100, 100)).toEqual([95, 95, 5, 5]);
    expect(clipBox([150, 10, 30, 30], 100, 100)).toBeNull();
  });

  it("resizes by a handle and keeps corners ordered", () => {
    expect(resizeBox([10, 10, 20, 20], "se", 5, -25)).toEqual([10, 5, 25, 5]);
    expect(resizeBox([10, 10, 20, 20], "w", 30, 0)).toEqual([30, 10, 10, 20]);
  });

  it("finds a handle under the pointer in stage pixels", () => {
    const v = { scale: 2, tx: 0, ty: 0 };
    expect(handleAt(v, [10, 10, 20, 20], 60, 60)).toBe("se");
    expect(handleAt(v, [10, 10, 20, 20], 40, 20)).toBe("n");
    expect(handleAt(v, [10, 10, 20, 20], 40, 40)).toBeNull();
  });
});

describe("handles a box shows", () => {
  it("are 8, the corners on a small box, none on a sliver (and only those are hit)", async () => {
    const { shownHandles, handleAt } = await import("../src/editor/view");
    expect(shownHandles([0, 0, 100, 100], 1)).toHaveLength(8);
    expect(shownHandles([0, 0, 100, 15], 1)).toEqual(["nw", "ne", "se", "sw"]);
    expect(shownHandles([0, 0, 100, 4], 1)).toEqual([]);
    expect(shownHandles([0, 0, 100, 4], 10)).toHaveLength(8); // zoomed in: all back
    const v = { scale: 1, tx: 0, ty: 0 };
    expect(handleAt(v, [0, 0, 100, 15], 50, 0)).toBeNull(); // no "n" handle drawn there
    expect(handleAt(v, [0, 0, 100, 15], 100, 15)).toBe("se");
  });
});
