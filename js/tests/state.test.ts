import { describe, expect, it } from "vitest";
import { RowStore, createUi, shown, stepKey, targetKeys } from "../src/image/state";
import type { Row } from "../src/image/types";

function row(key: string, extra: Partial<Row> = {}): Row {
  return { key, proposal: true, label: "cell", box: [0, 0, 10, 10], originalBox: null,
    originalLabel: null, confidence: 0.9, status: "pending", visible: true, focus: false,
    unusable: null, mask: null, ...extra };
}

describe("RowStore", () => {
  it("patches rows in place, appends new keys and removes deleted ones", () => {
    const s = new RowStore();
    s.setAll("s1", [row("a"), row("b"), row("c")]);
    const r1 = s.apply([row("b", { status: "accepted", box: [5, 5, 10, 10] })], []);
    expect(r1.structural).toBe(false);
    expect(r1.changed).toEqual([{ index: 1, before: [0, 0, 10, 10] }]);
    expect(s.get("b")!.status).toBe("accepted");
    const r2 = s.apply([row("d", { status: "added" })], ["a"]);
    expect(r2.structural).toBe(true);
    expect(s.rows.map((r) => r.key)).toEqual(["b", "c", "d"]);
    expect(s.indexOf("d")).toBe(2);
    expect(s.get("a")).toBeUndefined();
  });
});

describe("display rules", () => {
  const rows = [row("a"), row("b", { visible: false }), row("c", { status: "accepted" }),
    row("d", { label: "nucleus" }), row("e", { unusable: "no box", visible: true })];

  it("shows what Python made visible, then this view's filters", () => {
    const ui = createUi();
    expect(rows.filter((r) => shown(r, ui)).map((r) => r.key)).toEqual(["a", "c", "d"]);
    expect(rows.filter((r) => shown(r, { ...ui, hideDecided: true })).map((r) => r.key))
      .toEqual(["a", "d"]);
    expect(rows.filter((r) => shown(r, { ...ui, onlyClass: "nucleus" })).map((r) => r.key))
      .toEqual(["d"]);
  });

  it("steps through the rows in their order, wrapping, skipping hidden ones", () => {
    const ui = createUi();
    expect(stepKey(rows, "a", 1, ui)).toBe("c");
    expect(stepKey(rows, "d", 1, ui)).toBe("e"); // unusable: reachable, to be rejected
    expect(stepKey(rows, "e", 1, ui)).toBe("a");
    expect(stepKey(rows, "a", -1, ui)).toBe("e");
    expect(stepKey(rows, null, 1, ui)).toBe("a");
    expect(stepKey([], null, 1, ui)).toBeNull();
  });

  it("decides on the multi-selection with the selected box", () => {
    expect(targetKeys("a", new Set())).toEqual(["a"]);
    expect(targetKeys("a", new Set(["b", "c"]))).toEqual(["a", "b", "c"]);
    expect(targetKeys("b", new Set(["b", "c"]))).toEqual(["b", "c"]);
    expect(targetKeys(null, new Set())).toEqual([]);
  });
});
