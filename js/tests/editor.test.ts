// The shared editor's pure parts: the box editor (pick, drag, resize, clip, draw) at any zoom,
// requests with their refusal and time-out, and the keys every kind shares.
import { describe, expect, it } from "vitest";
import type { Timers } from "../src/editor/answers";
import { dragTo, finish, pick, startDrag, startDraw } from "../src/editor/boxedit";
import { CONTRACT, REJECTED, STATUSES, statusColour } from "../src/editor/contract";
import { Keyset } from "../src/editor/keyset";
import { Requests } from "../src/editor/requests";
import { type View, toStage } from "../src/editor/view";

const boxes = [
  { key: "big", box: [10, 10, 200, 200] as [number, number, number, number], movable: true },
  { key: "small", box: [50, 50, 20, 20] as [number, number, number, number], movable: true },
];

describe("box editor", () => {
  const at1: View = { scale: 1, tx: 0, ty: 0 };
  const at4: View = { scale: 4, tx: -100, ty: -100 };

  it("picks the selected box under the press, else the smallest", () => {
    expect(pick(at1, boxes, "", 55, 55)?.key).toBe("small");
    expect(pick(at1, boxes, "big", 55, 55)?.key).toBe("big");
    expect(pick(at1, boxes, "", 500, 500)).toBeNull();
    // The hit margin is in screen pixels: 3 px is 3 image px at 1x, 0.75 at 4x.
    expect(pick(at1, boxes, "", 8, 100)?.key).toBe("big");
    expect(pick(at4, boxes, "", 8, 100)).toBeNull();
  });

  it("resizes by the selected box's handle, moves by its body, at any zoom", () => {
    const [sx, sy] = toStage(at4, 210, 210); // the south-east corner on screen
    const d = startDrag(at4, boxes, "big", 210, 210, sx + 3, sy - 3)!;
    expect(d.kind).toBe("resize");
    expect(d.handle).toBe("se");
    expect(dragTo(d, 230, 240, 1000, 1000)).toEqual([10, 10, 220, 230]);
    const m = startDrag(at4, boxes, "big", 100, 100, ...toStage(at4, 100, 100))!;
    expect(m.kind).toBe("move");
    expect(dragTo(m, 110, 95, 1000, 1000)).toEqual([20, 5, 200, 200]);
    expect(finish(m, at4)).toEqual([20, 5, 200, 200]);
  });

  it("keeps a box inside the image and never below the minimum size", () => {
    const m = startDrag(at1, boxes, "big", 100, 100, 100, 100)!;
    expect(m.kind).toBe("move");
    expect(dragTo(m, -500, -500, 300, 300)).toEqual([0, 0, 200, 200]);
    expect(dragTo(m, 900, 100, 300, 300)).toEqual([100, 10, 200, 200]);
    const d = startDrag(at1, boxes, "small", 70, 70, 70, 70)!;
    expect(d.handle).toBe("se");
    const shrunk = dragTo(d, 51, 51, 300, 300);
    expect(shrunk[2]).toBeGreaterThanOrEqual(CONTRACT.box.min_size);
  });

  it("draws a box, and drops one too small to mean anything", () => {
    const d = startDraw(100, 100);
    dragTo(d, 60, 140, 300, 300);
    expect(finish(d, at1)).toEqual([60, 100, 40, 40]);
    const tiny = startDraw(10, 10);
    dragTo(tiny, 11, 11, 300, 300);
    expect(finish(tiny, at1)).toBeNull();
    const still = startDrag(at1, boxes, "big", 100, 100, 100, 100)!;
    expect(finish(still, at1)).toBeNull(); // pressed, not moved: nothing to send
  });
});

describe("the contract", () => {
  it("declares one status list and a colour for each", () => {
    expect(STATUSES).toEqual(["pending", "accepted", "rejected", "edited", "added"]);
    expect(statusColour(REJECTED)).toBe(CONTRACT.colours[2]);
    expect(statusColour(99)).toBe(CONTRACT.colours[0]);
  });
});

function manualTimers() {
  let next = 1;
  const due = new Map<number, () => void>();
  const timers: Timers = {
    set: (fn) => {
      due.set(next, fn);
      return next++;
    },
    clear: (id) => void due.delete(id),
  };
  return { timers, fire: () => [...due.values()].forEach((fn) => fn()) };
}

function fakeHost() {
  const sent: Record<string, unknown>[] = [];
  const said: string[] = [];
  const root = { dataset: {} as Record<string, string> } as unknown as HTMLElement;
  return { sent, said, root, send: (m: Record<string, unknown>) => void sent.push(m),
    say: (t: string) => void said.push(t) };
}

describe("requests", () => {
  it("are busy until answered, and queue what comes meanwhile", () => {
    const h = fakeHost();
    const r = new Requests(h, 1000, manualTimers().timers);
    r.request({ kind: "act", action: "accept" });
    r.request({ kind: "act", action: "reject" });
    expect(h.sent.map((m) => m.action)).toEqual(["accept"]);
    expect(h.root.dataset.busy).toBe("true");
    r.answered(1, null);
    expect(h.sent.map((m) => [m.action, m.seq])).toEqual([["accept", 1], ["reject", 2]]);
    r.answered(2, null);
    expect(h.root.dataset.busy).toBeUndefined();
  });

  it("put back what was painted when Python refuses, and say why", () => {
    const h = fakeHost();
    const r = new Requests(h, 1000, manualTimers().timers);
    let reverted = 0;
    r.request({ kind: "act", action: "fix" }, () => reverted++);
    r.answered(1, "not done: the journal cannot be written");
    expect(reverted).toBe(1);
    expect(h.root.dataset.refused).toBe("1");
    expect(h.said).toEqual(["not done: the journal cannot be written"]);
    expect(r.busy).toBe(false);
  });

  it("put back what was painted when no answer comes in time", () => {
    const h = fakeHost();
    const t = manualTimers();
    const r = new Requests(h, 1000, t.timers);
    let reverted = 0;
    r.request({ kind: "act", action: "fix" }, () => reverted++);
    t.fire();
    expect(reverted).toBe(1);
    expect(r.busy).toBe(false);
    expect(h.said[0]).toMatch(/no answer from the kernel in 1 s/);
    r.answered(1, null); // a late answer changes nothing
    expect(reverted).toBe(1);
  });
});

describe("shared keys", () => {
  it("are added to every kind's own, each key bound once", () => {
    const own = { display: {}, bindings: [{ action: "accept" as const, keys: ["a"], help: "accept" }],
      mouse: [] };
    const k = new Keyset(own);
    expect(k.action({ key: "a", ctrlKey: false, metaKey: false, shiftKey: false })).toBe("accept");
    expect(k.action({ key: "+", ctrlKey: false, metaKey: false, shiftKey: false })).toBe("zoom_in");
    expect(k.action({ key: "z", ctrlKey: true, metaKey: false, shiftKey: false })).toBe("undo");
    expect(k.help().map(([, h]) => h)).toContain("show this help");
    const clash = { display: {}, bindings: [{ action: "x" as const, keys: ["?"], help: "" }],
      mouse: [] };
    expect(() => new Keyset(clash)).toThrow(/bound twice/);
  });
});

describe("attributes", () => {
  it("of a class are its own then every class's, as Python's Attributes.of", async () => {
    const { specsOf, parseValue } = await import("../src/editor/attributes");
    const declared = {
      person: [{ name: "pose", kind: "choice" as const, options: ["standing", "sitting"] }],
      "*": [{ name: "occluded", kind: "bool" as const, options: [] },
        { name: "pose", kind: "text" as const, options: [] }],
    };
    expect(specsOf(declared, "person").map((s) => [s.name, s.kind]))
      .toEqual([["pose", "choice"], ["occluded", "bool"]]);
    expect(specsOf(declared, "car").map((s) => s.name)).toEqual(["occluded", "pose"]);
    expect(parseValue({ name: "n", kind: "number", options: [] }, "2.5")).toBe(2.5);
    expect(parseValue({ name: "n", kind: "number", options: [] }, "")).toBeNull();
    expect(parseValue({ name: "b", kind: "bool", options: [] }, true)).toBe(true);
  });
});
