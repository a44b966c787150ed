// The list of boxes beside the image (class, confidence, status), virtualised: only the rows in
// the scrolled window exist in the DOM, so 10,000 boxes cost as much as 30. Each row is an
// element with the stable test contract: class nblabel-box (+ nblabel-status-*, nblabel-selected,
// nblabel-below, nblabel-focus, nblabel-multi, nblabel-sending: a decision on its way) and
// data-key, data-index, data-status, data-sending, data-label, data-box. Reference boxes (truth the model missed) come first, not decidable.
import { classColour, labelText } from "./style";
import type { ReferenceBox, Row } from "./types";

const ROW_H = 20;

export interface ListState {
  rows: readonly Row[];
  reference: readonly ReferenceBox[];
  classes: readonly string[];
  selected: string | null;
  multi: ReadonlySet<string>;
}

export class RowList {
  readonly el: HTMLDivElement;
  private inner: HTMLDivElement;
  private state: ListState | null = null;
  private scheduled = false;
  private nodes = new Map<string, HTMLElement>(); // key -> row element, for the rows in the DOM


  constructor(private onPick: (key: string, toggle: boolean) => void) {
    this.el = document.createElement("div");
    this.el.className = "nblabel-rows";
    this.inner = document.createElement("div");
    this.inner.className = "nblabel-rows-inner";
    this.el.appendChild(this.inner);
    this.el.addEventListener("scroll", () => this.schedule());
    this.el.addEventListener("mousedown", (e) => {
      const target = (e.target as HTMLElement).closest<HTMLElement>(".nblabel-box");
      if (!target || !target.dataset.key) return;
      e.preventDefault();
      this.onPick(target.dataset.key, e.shiftKey);
    });
  }

  update(state: ListState, follow: boolean): void {
    this.state = state;
    if (follow && state.selected) this.scrollTo(state.selected);
    this.paint();
  }

  /** Only the selection changed: move the highlight (no rebuild unless it scrolls). */
  select(state: ListState, previous: string | null): void {
    const before = this.el.scrollTop;
    this.state = state;
    if (state.selected) this.scrollTo(state.selected);
    const node = state.selected ? this.nodes.get(state.selected) : undefined;
    if (this.el.scrollTop !== before || (state.selected && !node)) {
      this.paint();
      return;
    }
    if (previous) this.nodes.get(previous)?.classList.remove("nblabel-selected");
    node?.classList.add("nblabel-selected");
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.paint();
    });
  }

  private scrollTo(key: string): void {
    const st = this.state!;
    const i = st.rows.findIndex((r) => r.key === key);
    if (i < 0) return;
    const y = (st.reference.length + i) * ROW_H;
    const h = this.el.clientHeight || 300;
    if (y < this.el.scrollTop || y + ROW_H > this.el.scrollTop + h) {
      this.el.scrollTop = Math.max(0, y - h / 2);
    }
  }

  private paint(): void {
    const st = this.state;
    if (!st) return;
    const n = st.reference.length + st.rows.length;
    this.inner.style.height = `${n * ROW_H}px`;
    const h = this.el.clientHeight || 300;
    const first = Math.max(0, Math.floor(this.el.scrollTop / ROW_H) - 5);
    const last = Math.min(n, Math.ceil((this.el.scrollTop + h) / ROW_H) + 5);
    this.nodes.clear();
    const nodes: HTMLElement[] = [];
    for (let j = first; j < last; j++) {
      const node = document.createElement("div");
      node.style.top = `${j * ROW_H}px`;
      const chip = document.createElement("span");
      chip.className = "nblabel-chip";
      const text = document.createElement("span");
      text.className = "nblabel-box-label";
      if (j < st.reference.length) {
        const ref = st.reference[j];
        node.className = `nblabel-reference nblabel-reference-${ref.kind}`;
        node.dataset.label = ref.label;
        chip.style.background = classColour(st.classes, ref.label);
        text.textContent = `${ref.label} (${ref.kind})`;
      } else {
        const i = j - st.reference.length;
        const row = st.rows[i];
        const sel = row.key === st.selected;
        node.className = `nblabel-box nblabel-status-${row.status}` +
          `${sel ? " nblabel-selected" : ""}${st.multi.has(row.key) ? " nblabel-multi" : ""}` +
          `${row.visible ? "" : " nblabel-below"}${row.focus ? " nblabel-focus" : ""}` +
          `${row.sending ? " nblabel-sending" : ""}`;
        node.dataset.key = row.key;
        node.dataset.sending = String(Boolean(row.sending));
        node.dataset.index = String(i);
        node.dataset.status = row.status;
        node.dataset.label = row.label;
        node.dataset.box = row.box.join(",");
        chip.style.background = classColour(st.classes, row.label);
        text.textContent = row.unusable ? `${row.label}: ${row.unusable}` : labelText(row);
        this.nodes.set(row.key, node);
      }
      node.append(chip, text);
      nodes.push(node);
    }
    this.inner.replaceChildren(...nodes);
  }
}
