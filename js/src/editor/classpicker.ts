// The class list of every kind: pick a class, or type a new one. What is picked applies to the
// selected object (a relabel, one request) and is the class of the next object drawn. Key C
// opens it; Enter applies the typed class, Escape goes back to the image. Python sends the
// classes (the `classes` trait); a typed class joins the list at once.
import { el } from "./dom";

export class ClassPicker {
  readonly el = el("div", "nblabel-classes");
  readonly select = el("select", "nblabel-class-select");
  readonly input = el("input", "nblabel-new-class");
  private classes: string[] = [];

  /** `onPick(label)`: the reviewer chose `label`; `done()`: give the keys back to the widget. */
  constructor(private onPick: (label: string) => void, private done: () => void) {
    this.input.placeholder = "new class, Enter";
    this.input.type = "text";
    this.select.tabIndex = -1;
    this.el.append(el("span", "nblabel-label", "class"), this.select, this.input);
    this.select.addEventListener("change", () => this.pick(this.select.value));
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        const name = this.input.value.trim();
        this.input.value = "";
        if (name) this.pick(name);
        this.done();
      } else if (e.key === "Escape") {
        e.preventDefault();
        this.input.value = "";
        this.done();
      }
    });
  }

  /** The classes offered, and the one shown as picked (the selected object's). */
  set(classes: readonly string[], current: string | null): void {
    const all = [...classes, ...this.classes.filter((c) => !classes.includes(c))];
    const same = all.length === this.select.options.length
      && all.every((c, i) => this.select.options[i].value === c);
    if (!same) {
      this.select.replaceChildren(...all.map((c, i) => {
        const o = el("option", "", i < 9 ? `${i + 1}: ${c}` : c);
        o.value = c;
        return o;
      }));
    }
    this.classes = all;
    if (current && all.includes(current)) this.select.value = current;
    this.el.dataset.value = this.select.value;
  }

  /** The class a new object gets ("" when there is none yet). */
  get value(): string {
    return this.select.value;
  }

  /** Focus the typing field (key C). */
  open(): void {
    this.input.focus({ preventScroll: true });
  }

  private pick(label: string): void {
    if (!this.classes.includes(label)) this.set([...this.classes, label], label);
    this.select.value = label;
    this.el.dataset.value = label;
    this.onPick(label);
  }
}
