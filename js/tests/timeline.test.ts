import { describe, expect, it } from "vitest";
import { videoAction, videoHelp } from "../src/video/keys";
import { LABEL_W, ROW_H, bars, confColour, frameX, hit, nextAfter, pieces, xFrame }
  from "../src/video/timeline";
import type { TrackSummary } from "../src/video/types";

const track = (id: string, first: number, last: number, conf: (number | null)[] = []):
  TrackSummary => ({ id, label: "car", status: "pending", first, last, score: 0, flags: [],
  keyframes: [], conf, attributes: null });

describe("timeline", () => {
  it("maps frames to x and back", () => {
    for (const f of [1, 37, 100]) expect(xFrame(frameX(f, 100, 600), 100, 600)).toBe(f);
    expect(frameX(1, 100, 600)).toBe(LABEL_W);
    expect(xFrame(0, 100, 600)).toBe(1);
    expect(xFrame(10_000, 100, 600)).toBe(100);
  });
  it("lays a bar per track and hits the row under the pointer", () => {
    const ts = [track("7", 1, 50), track("9", 51, 100)];
    const bs = bars(ts, 100, 600);
    expect(bs[1].row).toBe(1);
    expect(bs[0].x + bs[0].w).toBeLessThan(bs[1].x + 1);
    expect(hit(ts, frameX(60, 100, 600), ROW_H * 1.5, 100, 600)).toEqual({ id: "9", frame: 60 });
    expect(hit(ts, 200, ROW_H * 5, 100, 600).id).toBeNull();
  });
  it("colours a bar by confidence, red low to green high, grey for none", () => {
    expect(confColour(0)).toBe("hsl(0, 70%, 45%)");
    expect(confColour(1)).toBe("hsl(120, 70%, 45%)");
    expect(confColour(null)).toBe("#9e9e9e");
    const t = track("1", 1, 100, [0.9, 0.2, null, 0.8]);
    const ps = pieces(t, bars([t], 100, 600)[0]);
    expect(ps.map((p) => p.colour)[2]).toBe("#9e9e9e");
    expect(ps).toHaveLength(4);
  });
  it("finds the next flagged frame", () => {
    expect(nextAfter([40, 12, 90], 12)).toBe(40);
    expect(nextAfter([40], 40)).toBeNull();
  });
});

describe("video keys", () => {
  it("maps keys to actions, arrows with Shift apart", () => {
    const k = (key: string, shiftKey = false, ctrlKey = false) =>
      videoAction({ key, shiftKey, ctrlKey, metaKey: false });
    expect(k("ArrowRight")).toBe("next_frame");
    expect(k("ArrowRight", true)).toBe("forward");
    expect(k("A", true)).toBe("accept_rest");
    expect(k("z", false, true)).toBe("undo");
    expect(k(" ")).toBe("play");
    expect(k("q")).toBeNull();
  });
  it("builds the help from the key file", () => {
    expect(videoHelp().find(([keys]) => keys === "Space")?.[1]).toBe("play or pause");
  });
});
