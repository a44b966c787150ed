import { describe, expect, it } from "vitest";
import { TO_PYTHON_KINDS, createSender, decodeRows } from "../src/image/protocol";
import type { RowsWire } from "../src/image/types";

const dv = (a: ArrayBufferView) => new DataView(a.buffer, a.byteOffset, a.byteLength);

describe("rows on the wire", () => {
  it("decodes columns into rows", () => {
    const wire: RowsWire = { n: 2, keys: ["p1", "d1"], labels: ["cell", "nucleus"], box: 1,
      original_box: 2, confidence: 3, codes: 4, label: 5, unusable: {}, masks: { "1": 6 } };
    const mask = new Uint8Array([137, 80, 78, 71]);
    const buffers = [
      dv(new Uint8Array([0xff, 0xd8])), // an image first, as in a prefetch message
      dv(new Float32Array([1, 2, 3, 4, 10.5, 20.25, 30, 40])),
      dv(new Float32Array([1, 2, 3, 4, NaN, NaN, NaN, NaN])),
      dv(new Float32Array([0.75, NaN])),
      dv(new Uint8Array([3, 1 | 4, 4, 1])),
      dv(new Uint16Array([1, 1, 0, 0])),
      dv(mask),
    ];
    const [a, b] = decodeRows(wire, buffers);
    expect(a).toMatchObject({ key: "p1", proposal: true, label: "nucleus", box: [1, 2, 3, 4],
      originalBox: [1, 2, 3, 4], originalLabel: "cell", status: "edited", visible: true,
      focus: false, mask: null });
    expect(a.confidence).toBeCloseTo(0.75);
    expect(b).toMatchObject({ key: "d1", proposal: false, label: "cell", status: "added",
      originalBox: null, originalLabel: null, confidence: null });
    expect(b.box).toEqual([10.5, 20.25, 30, 40]);
    expect(b.mask!.byteLength).toBe(4);
  });

  it("names a short buffer", () => {
    const wire: RowsWire = { n: 3, keys: ["a", "b", "c"], labels: ["x"], box: 0,
      original_box: 0, confidence: 0, codes: 0, label: 0, unusable: {}, masks: {} };
    expect(() => decodeRows(wire, [dv(new Float32Array(4))])).toThrow(/buffer 0/);
  });
});

describe("senders", () => {
  it("numbers decisions and sends one message per call", () => {
    const sent: unknown[] = [];
    const model = { send: (m: unknown) => sent.push(m), get: () => 0 } as never;
    const s = createSender(model);
    s.decide("s1", ["a", "b"], "accepted", 1.5);
    s.undo();
    s.go(1, "s2");
    s.goto(4);
    expect(sent).toEqual([
      { kind: "decide", seq: 1, sample_id: "s1", keys: ["a", "b"], action: "accepted", seconds: 1.5 },
      { kind: "undo", seq: 2 },
      { kind: "go", nav: 1, delta: 1, have: "s2" },
      { kind: "goto", nav: 2, position: 4 },
    ]);
    expect(s.lastSeq).toBe(2);
    expect(s.lastNav).toBe(2);
    // A view reloaded on a kernel that handled move 7 goes on from there.
    const again = createSender({ send: () => 0, get: () => 7 } as never);
    again.go(-1);
    expect(again.lastNav).toBe(8);
    expect(new Set(TO_PYTHON_KINDS).size).toBe(TO_PYTHON_KINDS.length);
  });
});
