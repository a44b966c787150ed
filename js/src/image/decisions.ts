// Decisions from the browser, DOM-free: each is painted at once as on its way (the rows it will
// change get the decided status with `sending` set, a distinct look), sent to Python, and kept
// as Python answers: the journaled rows replace the painted ones, or, when Python refuses it or
// does not answer in time, the rows are put back and the widget says why. One request at a time
// (answers.ts); Python still decides the selection after each decision and whether an image is
// complete. Unit-tested in Node against a fake widget model (js/tests/decisions.test.ts).
import { Answers, type Timers } from "../editor/answers";
import type { AttributeValue } from "../editor/attributes";
import { CONTRACT } from "../editor/contract";
import type { Sender } from "./protocol";
import type { RowStore } from "./state";
import { targetKeys, type UiState } from "./state";
import type { Box4, Decidable, ImageLabel, Row, Status } from "./types";

export interface DecisionHost {
  store: RowStore;
  send: Sender;
  ui: UiState;
  selected(): string | null;
  threshold(): number;
  seconds(): number;
  imageLabel(): ImageLabel;
  /** Rows were painted as on their way or put back: redraw them (`before`: their old boxes). */
  rowsChanged(keys: string[], before: Box4[]): void;
  /** A request is on its way (true) or answered (false). */
  busy(on: boolean): void;
  /** A line for the reviewer (a refusal, a time-out). */
  say(message: string): void;
  /** Request `seq` was refused or timed out: what it painted is put back (data-refused). */
  refused?(seq: number): void;
}

/** The row as it will be once Python journals `action` on it: painted at once, `sending`. */
export function onItsWay(row: Row, action: Decidable, extra: { label?: string; box?: Box4 }
): Row {
  let status: Status = action;
  if (action === "edited" && !row.proposal) status = row.status; // a drawn box stays "added"
  return { ...row, status, label: extra.label ?? row.label, box: extra.box ?? row.box,
    sending: true };
}

export class Decisions {
  readonly answers: Answers;

  constructor(private h: DecisionHost, limitMs = CONTRACT.answer_limit_ms, timers?: Timers) {
    this.answers = new Answers({
      busy: (on) => h.busy(on),
      refused: (seq, error) => {
        h.say(`not saved, put back: ${error}`);
        h.refused?.(seq);
      },
      timedOut: (seq) => {
        h.say(`No answer from the kernel for ${Math.round(limitMs / 1000)} s: is it busy, or `
          + "did it stop? What was painted as on its way is put back; the journal keeps all "
          + "it wrote.");
        h.refused?.(seq);
      },
    }, limitMs, timers);
  }

  /** Accept, reject or edit the selected box(es) (`keys`: these instead). */
  decide(action: Decidable, extra: { label?: string; box?: Box4 } = {}, keys?: string[]): void {
    this.answers.whenFree(() => {
      const store = this.h.store;
      const sid = store.sampleId;
      const ks = keys ?? targetKeys(this.h.selected(), this.h.ui.multi)
        .filter((k) => store.get(k));
      if (!sid || !ks.length) return;
      const revert = this.paint(ks.map((k) => {
        const row = store.get(k)!;
        return row.unusable && action !== "rejected" ? row : onItsWay(row, action, extra);
      }));
      this.h.send.decide(sid, ks, action, this.h.seconds(), extra);
      this.answers.sent(this.h.send.lastSeq, revert);
    });
  }

  /** Give the selected box(es) class `label` (those that have another). */
  relabel(label: string | undefined): void {
    if (!label) return;
    const keys = targetKeys(this.h.selected(), this.h.ui.multi)
      .filter((k) => this.h.store.get(k)?.label !== label);
    if (keys.length) this.decide("edited", { label }, keys);
  }

  /** Accept every pending box shown (Python applies the threshold the reviewer saw). */
  acceptAll(): void {
    this.answers.whenFree(() => {
      const store = this.h.store;
      if (!store.sampleId) return;
      // What Python accepts: every pending proposal shown at the threshold (filters aside).
      const rows = store.rows.filter((r) => r.status === "pending" && r.visible && !r.unusable
        && r.proposal);
      const revert = this.paint(rows.map((r) => onItsWay(r, "accepted", {})));
      this.h.send.acceptAll(store.sampleId, this.h.threshold(), this.h.seconds());
      this.answers.sent(this.h.send.lastSeq, revert);
    });
  }

  /** Draw a new box of class `label`. */
  add(label: string, box: Box4): void {
    this.request(() => {
      if (!this.h.store.sampleId) return false;
      this.h.send.add(this.h.store.sampleId, label, box, this.h.seconds());
      return true;
    });
  }

  /** Set attributes of the label `key` (one request: journaled, undoable). */
  attributes(key: string, values: Record<string, AttributeValue | null>): void {
    this.request(() => {
      if (!this.h.store.sampleId) return false;
      this.h.send.attributes(this.h.store.sampleId, key, values, this.h.seconds());
      return true;
    });
  }

  /** "Nothing (more) here": Python completes the image (or says why not) and moves on. */
  done(): void {
    this.request(() => {
      if (!this.h.store.sampleId) return false;
      this.h.send.done(this.h.store.sampleId, this.h.seconds());
      return true;
    });
  }

  history(kind: "undo" | "redo"): void {
    this.request(() => {
      if (kind === "undo") this.h.send.undo();
      else this.h.send.redo();
      return true;
    });
  }

  /** Accept the image's proposed class (`label` null) or choose `label`. */
  classify(label: string | null): void {
    const il = this.h.imageLabel();
    if (!il.status || !this.h.store.sampleId) return;
    const action: Decidable = !label || label === il.label ? "accepted" : "edited";
    this.request(() => {
      this.h.send.classify(this.h.store.sampleId!, action, label || il.label || null,
        this.h.seconds());
      return true;
    });
  }

  addClass(name: string): void {
    this.request(() => {
      this.h.send.addClass(name);
      return true;
    });
  }

  /** A request of another module (the mask tools): `send` sends it and says whether it did. */
  request(send: () => boolean): void {
    this.answers.whenFree(() => {
      if (send()) this.answers.sent(this.h.send.lastSeq);
    });
  }

  /** Python's answer to `seq` arrived (`error`: it refused it). */
  answered(seq: number | null, error: string | null): boolean {
    return this.answers.answered(seq, error);
  }

  /** Paint `rows` as on their way; returns what puts the old rows back. */
  private paint(rows: Row[]): (() => void) | null {
    if (!rows.length) return null;
    const store = this.h.store;
    const sid = store.sampleId;
    const before = rows.map((r) => store.get(r.key)!).filter(Boolean);
    store.apply(rows, []);
    this.h.rowsChanged(rows.map((r) => r.key), before.map((r) => r.box));
    return () => {
      if (store.sampleId !== sid) return; // another image since: nothing on screen to fix
      const now = before.filter((r) => store.get(r.key)?.sending);
      if (!now.length) return;
      const boxes = now.map((r) => store.get(r.key)!.box);
      store.apply(now, []);
      this.h.rowsChanged(now.map((r) => r.key), boxes);
    };
  }
}
