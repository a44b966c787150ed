// The controller's decision path in Node, against a fake widget model: a decision is painted at
// once as on its way, kept when Python answers, put back when Python refuses it or never
// answers; requests go one at a time, in order.
import { describe, expect, it } from "vitest";
import { Answers, type Timers } from "../src/editor/answers";
import { Decisions, type DecisionHost } from "../src/image/decisions";
import { createSender } from "../src/image/protocol";
import { RowStore, createUi } from "../src/image/state";
import type { Row, ToPython } from "../src/image/types";

function row(key: string, extra: Partial<Row> = {}): Row {
  return { key, proposal: true, label: "cell", box: [0, 0, 10, 10], originalBox: [0, 0, 10, 10],
    originalLabel: "cell", confidence: 0.9, status: "pending", visible: true, focus: false,
    unusable: null, mask: null, ...extra };
}

/** A fake anywidget model: records what is sent; traits in a plain object. */
function fakeModel() {
  const sent: ToPython[] = [];
  const traits: Record<string, unknown> = { threshold: 0.25, selected: "a", image_label: {} };
  return {
    sent,
    traits,
    get: (k: string) => traits[k],
    set: (k: string, v: unknown) => { traits[k] = v; },
    send: (m: ToPython) => { sent.push(m); },
    save_changes: () => {},
    on: () => {},
    off: () => {},
  };
}

/** Timers run by hand. */
function manualTimers() {
  let next = 1;
  const due = new Map<number, () => void>();
  const timers: Timers = {
    set: (fn) => { due.set(next, fn); return next++; },
    clear: (id) => { due.delete(id); },
  };
  return { timers, fire: () => { for (const fn of [...due.values()]) fn(); due.clear(); } };
}

function setup() {
  const model = fakeModel();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const send = createSender(model as any);
  const store = new RowStore();
  store.setAll("s1", [row("a"), row("b"), row("c", { confidence: 0.1, visible: false })]);
  const ui = createUi();
  const painted: string[][] = [];
  const said: string[] = [];
  const busy: boolean[] = [];
  const host: DecisionHost = {
    store, send, ui,
    selected: () => (model.traits.selected as string) || null,
    threshold: () => model.traits.threshold as number,
    seconds: () => 1.5,
    imageLabel: () => ({}),
    rowsChanged: (keys) => painted.push(keys),
    busy: (on) => busy.push(on),
    say: (m) => said.push(m),
  };
  const t = manualTimers();
  const d = new Decisions(host, 1000, t.timers);
  return { model, store, ui, d, painted, said, busy, fire: t.fire };
}

describe("a decision painted at once", () => {
  it("shows the decision on its way before Python answers, then as Python sends it", () => {
    const { model, store, d, painted, busy } = setup();
    d.decide("accepted");
    expect(model.sent).toMatchObject([{ kind: "decide", keys: ["a"], action: "accepted", seq: 1 }]);
    expect(store.get("a")).toMatchObject({ status: "accepted", sending: true });
    expect(painted).toEqual([["a"]]);
    expect(busy).toEqual([true]);
    // Python's answer: the journaled row replaces the painted one.
    store.apply([row("a", { status: "accepted" })], []);
    expect(d.answered(1, null)).toBe(true);
    expect(store.get("a")!.sending).toBeUndefined();
    expect(busy).toEqual([true, false]);
  });

  it("puts a refused decision back and says why", () => {
    const { store, d, said } = setup();
    d.decide("rejected");
    expect(store.get("a")).toMatchObject({ status: "rejected", sending: true });
    d.answered(1, "not saved: the journal is read-only");
    expect(store.get("a")).toMatchObject({ status: "pending" });
    expect(store.get("a")!.sending).toBeUndefined();
    expect(said[0]).toMatch(/put back.*read-only/);
  });

  it("puts the decision back when no answer comes in time, and drops what waited", () => {
    const { model, store, d, said, fire } = setup();
    d.decide("accepted");
    d.decide("rejected", {}, ["b"]); // waits for the first answer
    expect(model.sent.length).toBe(1);
    fire();
    expect(store.get("a")!.status).toBe("pending");
    expect(said[0]).toMatch(/No answer from the kernel/);
    d.answered(1, null); // a late answer changes nothing
    expect(model.sent.length).toBe(1);
  });

  it("sends one request at a time, in order, each after the previous answer", () => {
    const { model, store, d } = setup();
    d.decide("accepted");
    d.relabel("nucleus");
    d.acceptAll();
    expect(model.sent.map((m) => m.kind)).toEqual(["decide"]);
    d.answered(1, null);
    expect(model.sent.map((m) => m.kind)).toEqual(["decide", "decide"]);
    expect(model.sent[1]).toMatchObject({ action: "edited", label: "nucleus", seq: 2 });
    d.answered(2, null);
    // Accept all paints what Python accepts: the pending proposals shown at the threshold.
    expect(model.sent[2]).toMatchObject({ kind: "accept_all", threshold: 0.25, seq: 3 });
    expect(store.get("b")).toMatchObject({ status: "accepted", sending: true });
    expect(store.get("c")!.status).toBe("pending");
  });

  it("marks an image done (nothing here) and undoes, without painting rows", () => {
    const { model, d, painted } = setup();
    d.done();
    expect(model.sent[0]).toMatchObject({ kind: "done", sample_id: "s1", seconds: 1.5 });
    d.answered(1, null);
    d.history("undo");
    expect(model.sent[1]).toMatchObject({ kind: "undo", seq: 2 });
    expect(painted).toEqual([]);
  });

  it("paints a whole multi-selection", () => {
    const { model, store, ui, d, painted } = setup();
    ui.multi = new Set(["a", "b"]);
    d.decide("rejected");
    expect(model.sent[0]).toMatchObject({ keys: ["a", "b"] });
    expect(store.get("b")).toMatchObject({ status: "rejected", sending: true });
    expect(painted).toEqual([["a", "b"]]);
  });
});

describe("answers", () => {
  it("ignores answers to older requests and to none", () => {
    const t = manualTimers();
    const events = { busy: () => {}, refused: () => {}, timedOut: () => {} };
    const a = new Answers(events, 1000, t.timers);
    let ran = 0;
    a.sent(5);
    a.whenFree(() => ran++);
    expect(a.answered(4)).toBe(false);
    expect(a.answered(null)).toBe(false);
    expect(ran).toBe(0);
    expect(a.answered(5)).toBe(true);
    expect(ran).toBe(1);
    expect(a.busy).toBe(false);
  });
});
