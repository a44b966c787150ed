// Requests and their answers, in one module (as lonboard's model/dispatch.ts): each message that
// changes something carries a sequence number that Python echoes in its answer. One request is
// on its way at a time; what the reviewer does meanwhile waits in order, so each decision applies
// to the selection Python chose after the previous one. A request may carry `revert`, which
// puts back what the browser painted ahead of the answer: called when Python refuses the request
// (its answer names an error) or when no answer comes within the time limit. Pure: timers are
// injected, unit-tested in Node.

import { CONTRACT } from "./contract";

export interface Timers {
  set(fn: () => void, ms: number): number;
  clear(id: number): void;
}

export interface AnswerEvents {
  /** The request is on its way (true) or answered (false): the widget shows "saving". */
  busy(on: boolean): void;
  /** Python refused request `seq`: its painted state was put back. */
  refused(seq: number, error: string): void;
  /** No answer in time: everything waiting was dropped and put back. */
  timedOut(seq: number): void;
}

const browserTimers: Timers = {
  set: (fn, ms) => window.setTimeout(fn, ms),
  clear: (id) => window.clearTimeout(id),
};

export class Answers {
  private awaiting: { seq: number; revert: (() => void) | null } | null = null;
  private queue: (() => void)[] = [];
  private timer = 0;

  constructor(private events: AnswerEvents, private limitMs = CONTRACT.answer_limit_ms,
    private timers: Timers = browserTimers) {}

  /** Whether a request is on its way. */
  get busy(): boolean {
    return this.awaiting !== null;
  }

  /** The sequence number waited for, or null. */
  get waiting(): number | null {
    return this.awaiting ? this.awaiting.seq : null;
  }

  /** Run `fn` now when nothing is on its way, else once everything before it is answered. */
  whenFree(fn: () => void): void {
    if (this.awaiting === null) fn();
    else this.queue.push(fn);
  }

  /** Request `seq` was sent: wait for its answer (at most the time limit). */
  sent(seq: number, revert: (() => void) | null = null): void {
    this.awaiting = { seq, revert };
    this.events.busy(true);
    this.timers.clear(this.timer);
    this.timer = this.timers.set(() => {
      if (this.awaiting?.seq !== seq) return;
      const { revert: undo } = this.awaiting;
      this.awaiting = null;
      this.queue = [];
      if (undo) undo();
      this.events.busy(false);
      this.events.timedOut(seq);
    }, this.limitMs);
  }

  /** Python answered `seq` (with `error` when it refused it). Answers to older requests (or
   *  none) change nothing; the answer to the awaited one runs the next waiting action. */
  answered(seq: number | null, error: string | null = null): boolean {
    if (seq === null || this.awaiting === null || seq < this.awaiting.seq) return false;
    const { revert } = this.awaiting;
    this.awaiting = null;
    this.timers.clear(this.timer);
    if (error) {
      if (revert) revert();
      this.events.refused(seq, error);
    }
    this.events.busy(false);
    const next = this.queue.shift();
    if (next) next();
    return true;
  }
}
