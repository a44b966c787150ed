// The attribute panel of every kind: the selected label's attributes as its class declares them
// (Python's ``nblabel.core.attributes``: bool, number, text, or one of a list), each a small
// field. Key ; focuses the first field, Tab moves between them, Enter or a change sets the value
// (one request: journaled, undoable), Escape gives the keys back to the widget.
import { el } from "./dom";

export type AttributeValue = boolean | number | string;
export type AttributeValues = Record<string, AttributeValue>;

export interface AttributeSpec {
  name: string;
  kind: "bool" | "number" | "text" | "choice";
  options: string[];
}

/** The attributes of a class: its own, then those of every class ("*"), as Python's
 *  ``Attributes.of``. Pure. */
export function specsOf(declared: Record<string, AttributeSpec[]>, label: string
): AttributeSpec[] {
  const own = declared[label] ?? [];
  const names = new Set(own.map((s) => s.name));
  return [...own, ...(declared["*"] ?? []).filter((s) => !names.has(s.name))];
}

/** A field's value as the attribute's kind (null: cleared). Pure. */
export function parseValue(spec: AttributeSpec, raw: string | boolean): AttributeValue | null {
  if (spec.kind === "bool") return Boolean(raw);
  if (raw === "") return null;
  if (spec.kind === "number") {
    const v = Number(raw);
    return Number.isFinite(v) ? v : null;
  }
  return String(raw);
}

export class AttributePanel {
  readonly el = el("div", "nblabel-attributes");
  private key = "";

  /** `onSet(key, name, value)`: the reviewer set an attribute of label `key`. */
  constructor(private onSet: (key: string, name: string, value: AttributeValue | null) => void,
    private done: () => void) {
    this.el.hidden = true;
  }

  /** Show label `key` of class `label` with its `values` (hidden when it has no attributes). */
  show(declared: Record<string, AttributeSpec[]>, key: string | null, label: string | null,
    values: AttributeValues | null): void {
    const specs = key && label ? specsOf(declared, label) : [];
    this.el.hidden = specs.length === 0;
    this.el.dataset.key = key ?? "";
    const same = this.key === key && this.el.dataset.label === label
      && this.el.childElementCount === specs.length;
    this.key = key ?? "";
    this.el.dataset.label = label ?? "";
    if (!same) this.el.replaceChildren(...specs.map((s) => this.field(s)));
    for (const s of specs) this.setShown(s, values?.[s.name] ?? null);
  }

  /** Focus the first field (key ;). */
  open(): void {
    (this.el.querySelector("input, select") as HTMLElement | null)?.focus({ preventScroll: true });
  }

  private field(s: AttributeSpec): HTMLElement {
    const wrap = el("label", "nblabel-attr");
    wrap.dataset.name = s.name;
    wrap.append(el("span", "nblabel-attr-name", s.name));
    let input: HTMLInputElement | HTMLSelectElement;
    if (s.kind === "choice") {
      input = el("select", "nblabel-attr-input");
      input.append(el("option", "", "–"), ...s.options.map((o) => {
        const opt = el("option", "", o);
        opt.value = o;
        return opt;
      }));
      (input.options[0] as HTMLOptionElement).value = "";
    } else {
      input = el("input", "nblabel-attr-input");
      input.type = s.kind === "bool" ? "checkbox" : s.kind === "number" ? "number" : "text";
    }
    input.dataset.name = s.name;
    const set = () => {
      const raw = input instanceof HTMLInputElement && input.type === "checkbox"
        ? input.checked : input.value;
      this.onSet(this.key, s.name, parseValue(s, raw));
    };
    input.addEventListener("change", set);
    input.addEventListener("keydown", (ev) => {
      const e = ev as KeyboardEvent;
      if (e.key === "Escape") {
        e.preventDefault();
        this.done();
      } else if (e.key === "Enter" && input instanceof HTMLInputElement
        && input.type !== "checkbox") {
        e.preventDefault();
        input.blur(); // the change event sets it
        this.done();
      }
    });
    wrap.append(input);
    return wrap;
  }

  private setShown(s: AttributeSpec, v: AttributeValue | null): void {
    const input = this.el.querySelector<HTMLInputElement | HTMLSelectElement>(
      `[data-name="${CSS.escape(s.name)}"].nblabel-attr-input`);
    if (!input || document.activeElement === input) return;
    if (input instanceof HTMLInputElement && input.type === "checkbox") input.checked = v === true;
    else input.value = v === null ? "" : String(v);
    (input.parentElement as HTMLElement).dataset.value = v === null ? "" : String(v);
  }
}
