// Messages between the browser and Python: one sender per kind (createSender), the one decoder of
// rows (decodeRows). Every kind is declared in types.ts; Python dispatches them through a table.
import type { AttributeValue } from "../editor/attributes";
import type { AnyModel } from "@anywidget/types";
import {
  FLAG_FOCUS, FLAG_PROPOSAL, FLAG_VISIBLE, STATUSES,
  type Box4, type Decidable, type ModelTraits, type Row, type RowsWire, type ToPython,
} from "./types";

/** Every kind the browser sends (tests compare it with Python's dispatch table). */
export const TO_PYTHON_KINDS = ["hello", "go", "goto", "done", "decide", "add", "attributes",
  "accept_all", "classify",
  "add_class", "undo", "redo", "full_res", "segment", "accept_mask",
  "paint", "polygon", "set_polygon"] as const satisfies readonly ToPython["kind"][];

function floats(buffers: readonly DataView[], i: number, n: number, width: number): Float32Array {
  const view = buffers[i];
  if (!view || view.byteLength < n * width * 4) {
    throw new Error(`rows: buffer ${i} holds ${view ? view.byteLength : 0} bytes, `
      + `${n * width * 4} expected`);
  }
  // Copy: the buffer's offset need not be 4-byte aligned.
  const out = new Float32Array(n * width);
  new Uint8Array(out.buffer).set(new Uint8Array(view.buffer, view.byteOffset, n * width * 4));
  return out;
}

function bytes(buffers: readonly DataView[], i: number, length: number): Uint8Array {
  const view = buffers[i];
  if (!view || view.byteLength < length) throw new Error(`rows: buffer ${i} is too short`);
  return new Uint8Array(view.buffer, view.byteOffset, length);
}

const orNull = (v: number): number | null => (Number.isNaN(v) ? null : v);

/** Rows from their wire form (columns in binary buffers) to objects. */
export function decodeRows(wire: RowsWire, buffers: readonly DataView[]): Row[] {
  const n = wire.n;
  const box = floats(buffers, wire.box, n, 4);
  const orig = floats(buffers, wire.original_box, n, 4);
  const conf = floats(buffers, wire.confidence, n, 1);
  const codes = bytes(buffers, wire.codes, n * 2);
  const labelBytes = bytes(buffers, wire.label, n * 4);
  const labels = new Uint16Array(n * 2);
  new Uint8Array(labels.buffer).set(labelBytes);
  const rows: Row[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const flags = codes[2 * i + 1];
    const o = 4 * i;
    const originalLabel = labels[2 * i + 1];
    const maskAt = wire.masks[String(i)];
    rows[i] = {
      key: wire.keys[i],
      proposal: (flags & FLAG_PROPOSAL) !== 0,
      label: wire.labels[labels[2 * i]],
      box: [box[o], box[o + 1], box[o + 2], box[o + 3]],
      originalBox: Number.isNaN(orig[o]) ? null : [orig[o], orig[o + 1], orig[o + 2], orig[o + 3]],
      originalLabel: originalLabel ? wire.labels[originalLabel - 1] : null,
      confidence: orNull(conf[i]),
      status: STATUSES[codes[2 * i]] ?? "pending",
      visible: (flags & FLAG_VISIBLE) !== 0,
      focus: (flags & FLAG_FOCUS) !== 0,
      unusable: wire.unusable[String(i)] ?? null,
      mask: maskAt === undefined ? null : buffers[maskAt] ?? null,
      attributes: wire.attributes?.[String(i)] ?? null,
    };
  }
  return rows;
}

/**
 * One function per message kind; decisions carry a sequence number Python echoes back, moves a
 * navigation number Python stores in the ``nav`` trait once it has handled them, so the
 * browser knows which image traits answer its latest move (see ``modelsync.fromModel``).
 */
export function createSender(model: AnyModel<ModelTraits>) {
  let seq = 0;
  let nav = model.get("nav") || 0; // a reloaded view goes on from the kernel's number
  const send = (m: ToPython) => model.send(m);
  return {
    /** The sequence number of the last decision sent. */
    get lastSeq() {
      return seq;
    },
    /** The navigation number of the last move sent. */
    get lastNav() {
      return nav;
    },
    hello: () => send({ kind: "hello" }),
    go: (delta: number, have?: string) =>
      send(have ? { kind: "go", nav: ++nav, delta, have } : { kind: "go", nav: ++nav, delta }),
    goto: (position: number) => send({ kind: "goto", nav: ++nav, position }),
    done: (sampleId: string, seconds: number) =>
      send({ kind: "done", seq: ++seq, sample_id: sampleId, seconds }),
    decide: (sampleId: string, keys: string[], action: Decidable, seconds: number,
      extra: { label?: string; box?: Box4 } = {}) =>
      send({ kind: "decide", seq: ++seq, sample_id: sampleId, keys, action, seconds, ...extra }),
    add: (sampleId: string, label: string, box: Box4, seconds: number) =>
      send({ kind: "add", seq: ++seq, sample_id: sampleId, label, box, seconds }),
    attributes: (sampleId: string, key: string, values: Record<string, AttributeValue | null>,
      seconds: number) =>
      send({ kind: "attributes", seq: ++seq, sample_id: sampleId, key, values, seconds }),
    acceptAll: (sampleId: string, threshold: number, seconds: number) =>
      send({ kind: "accept_all", seq: ++seq, sample_id: sampleId, threshold, seconds }),
    classify: (sampleId: string, action: Decidable, label: string | null, seconds: number) =>
      send({ kind: "classify", seq: ++seq, sample_id: sampleId, action, label, seconds }),
    addClass: (name: string) => send({ kind: "add_class", seq: ++seq, name }),
    segment: (sampleId: string, req: number, box: Box4 | null,
      points: [number, number, boolean][]) =>
      send({ kind: "segment", sample_id: sampleId, req, box, points }),
    paint: (sampleId: string, key: string, stroke: [number, number][], radius: number,
      erase: boolean) =>
      send({ kind: "paint", seq: ++seq, sample_id: sampleId, key, stroke, radius, erase }),
    polygon: (sampleId: string, key: string) =>
      send({ kind: "polygon", sample_id: sampleId, key }),
    setPolygon: (sampleId: string, key: string, points: [number, number][]) =>
      send({ kind: "set_polygon", seq: ++seq, sample_id: sampleId, key, points }),
    acceptMask: (sampleId: string, label: string, seconds: number) =>
      send({ kind: "accept_mask", seq: ++seq, sample_id: sampleId, label, seconds }),
    undo: () => send({ kind: "undo", seq: ++seq }),
    redo: () => send({ kind: "redo", seq: ++seq }),
    fullRes: (sampleId: string) => send({ kind: "full_res", sample_id: sampleId }),
  };
}

export type Sender = ReturnType<typeof createSender>;
