// Requests to Python and their answers, for every kind: each action is one message with a
// sequence number; the widget shows "busy" until Python answers; a refusal (its answer names the
// error) or no answer within the contract's time limit puts back what the browser painted
// ahead (`revert`) and says why. Built on answers.ts (the queue and the timer).
import { Answers, type Timers } from "./answers";
import { CONTRACT } from "./contract";

export interface RequestHost {
  /** Send one message (with its `seq`) to Python. */
  send(msg: Record<string, unknown> & { seq: number }): void;
  /** Show a line to the reviewer. */
  say(text: string): void;
  /** The widget's root: `data-busy` while a request is on its way, `data-refused` after one was
   *  refused or timed out. */
  root: HTMLElement;
}

export class Requests {
  private seq = 0;
  readonly answers: Answers;

  constructor(private host: RequestHost, limitMs = CONTRACT.answer_limit_ms, timers?: Timers) {
    const d = host.root.dataset;
    this.answers = new Answers({
      busy: (on) => {
        if (on) d.busy = "true";
        else delete d.busy;
      },
      refused: (seq, error) => {
        d.refused = String(seq);
        host.say(error);
      },
      timedOut: (seq) => {
        d.refused = String(seq);
        host.say(`no answer from the kernel in ${Math.round(limitMs / 1000)} s: `
          + "what was painted is put back (is the kernel busy or gone?)");
      },
    }, limitMs, timers);
  }

  /** Send `msg` once every earlier request is answered; `revert` puts back what was painted
   *  ahead of the answer (called on a refusal or a time-out). */
  request(msg: Record<string, unknown>, revert: (() => void) | null = null): void {
    this.answers.whenFree(() => {
      const seq = ++this.seq;
      this.host.send({ ...msg, seq });
      this.answers.sent(seq, revert);
    });
  }

  /** Python's answer to `seq` (`error` when refused). */
  answered(seq: number, error: string | null): void {
    if (this.answers.answered(seq, error) && !error) {
      delete this.host.root.dataset.refused;
    }
  }

  get busy(): boolean {
    return this.answers.busy;
  }
}
