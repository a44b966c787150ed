// The image-level labels widget in the shared editor (../editor/kindview.ts: zoom, class list,
// attributes, requests, keys): the image on the zoomable stage and its labels as a list to
// triage (pending first to decide; those below the threshold dimmed). A class picked or typed
// in the class list adds that label; Python decides what each action changes.
import type { AnyModel } from "@anywidget/types";
import type { AttributeValue } from "../editor/attributes";
import { PENDING, REJECTED, statusColour, statusName } from "../editor/contract";
import { el } from "../editor/dom";
import { type AttributeTarget, KindView } from "../editor/kindview";
import { LABEL_KEYS, type LabelKey } from "./keys";
import type { LabelActionName, LabelsFromPython, LabelTraits, WireLabel } from "./types";

/** The label after (or before) `current`, pending ones first (wrapping). Pure. */
export function nextLabel(labels: readonly WireLabel[], current: string, step: 1 | -1): string {
  if (!labels.length) return "";
  const order = [...labels.filter((l) => l.status === PENDING),
    ...labels.filter((l) => l.status !== PENDING)];
  const at = order.findIndex((l) => l.id === current);
  return order[(at + step + order.length) % order.length].id;
}

export class LabelsView extends KindView<LabelTraits, LabelKey> {
  list = el("div", "nblabel-labels-list");
  bitmap: ImageBitmap | null = null;

  constructor(model: AnyModel<LabelTraits>, host: HTMLElement) {
    super(model, host, "labels", LABEL_KEYS, { minSide: 320, maxSide: 960 });
    this.mount(this.list);
    this.wire();
    this.showClasses();
    void this.loadImage();
  }

  size(): [number, number] {
    return [this.model.get("width") || 320, this.model.get("height") || 240];
  }

  protected buttons(): [string, LabelKey][] {
    return [["◀", "prev_image"], ["▶", "next_image"], ["✓", "accept"], ["✗", "reject"],
      ["✓ ≥ threshold", "accept_above"], ["done", "complete"]];
  }

  source(): CanvasImageSource | null {
    return this.bitmap;
  }

  private wire(): void {
    const m = this.model;
    m.on("msg:custom", (msg: LabelsFromPython) => this.answered(msg));
    m.on("change:image", () => void this.loadImage());
    for (const t of ["labels", "selected", "threshold", "reviewed"] as const) {
      m.on(`change:${t}`, () => {
        this.showClasses();
        this.paint();
      });
    }
    this.list.addEventListener("pointerdown", (e) => {
      const row = (e.target as HTMLElement).closest<HTMLElement>(".nblabel-image-label");
      if (row?.dataset.id) this.select(row.dataset.id);
    });
  }

  private async loadImage(): Promise<void> {
    const data = this.model.get("image");
    this.stage.layout();
    const sample = this.model.get("sample_id");
    const bitmap = data ? await createImageBitmap(new Blob([data.buffer as ArrayBuffer])) : null;
    if (sample !== this.model.get("sample_id")) return;
    this.bitmap = bitmap;
    this.paint();
  }

  private selectedLabel_(): WireLabel | null {
    return this.model.get("labels").find((l) => l.id === this.model.get("selected")) ?? null;
  }

  protected selectedLabel(): string | null {
    return null; // the class list adds labels: it shows no label as picked
  }

  protected attributeTarget(): AttributeTarget | null {
    const l = this.selectedLabel_();
    return l && l.status !== REJECTED ? { key: l.id, label: l.label, values: l.attributes }
      : null;
  }

  protected setAttribute(key: string, name: string, value: AttributeValue | null): void {
    this.act_("attributes", { label_id: key, values: { [name]: value } });
  }

  /** A class picked or typed in the class list: that label is added to the image. */
  protected picked(label: string): void {
    const has = this.model.get("labels").some((l) => l.label === label && l.status !== REJECTED);
    if (has) this.say(`the image already has ${label}`);
    else this.act_("add", { label });
  }

  private select(id: string): void {
    this.model.set("selected", id);
    this.model.save_changes();
    this.showClasses();
    this.paint();
  }

  private act_(action: LabelActionName, extra: Record<string, unknown> = {},
    revert: (() => void) | null = null): void {
    this.request({ kind: "act", action, label_id: this.model.get("selected"), ...extra },
      revert);
  }

  /** The selected label accepted or rejected, painted at once (put back if refused). */
  private decideLabel(action: "accept" | "reject", code: number): void {
    this.decideNow(() => {
      const l = this.selectedLabel_();
      if (!l) return null;
      const before = l.status;
      l.status = code;
      return () => {
        l.status = before;
      };
    }, (revert) => this.act_(action, {}, revert));
  }

  private setThreshold(t: number): void {
    this.model.set("threshold", Math.round(Math.min(1, Math.max(0, t)) * 100) / 100);
    this.model.save_changes();
    this.paint();
  }

  act(a: LabelKey | "undo" | "redo"): void {
    const after = (fn: () => void) => this.requests.answers.whenFree(fn);
    const table: Record<LabelKey | "undo" | "redo", () => void> = {
      next_image: () => this.model.send({ kind: "nav", to: "next" }),
      prev_image: () => this.model.send({ kind: "nav", to: "prev" }),
      next_label: () => after(() => this.select(nextLabel(this.model.get("labels"),
        this.model.get("selected"), 1))),
      prev_label: () => after(() => this.select(nextLabel(this.model.get("labels"),
        this.model.get("selected"), -1))),
      accept: () => this.decideLabel("accept", 1),
      reject: () => this.decideLabel("reject", REJECTED),
      accept_above: () => this.act_("accept_above", { threshold: this.model.get("threshold") }),
      threshold_down: () => this.setThreshold(this.model.get("threshold") - 0.05),
      threshold_up: () => this.setThreshold(this.model.get("threshold") + 0.05),
      complete: () => this.act_("complete"),
      undo: () => this.act_("undo"),
      redo: () => this.act_("redo"),
    };
    table[a]();
  }

  // Labels have nothing to drag on the image: a press pans it when zoomed.
  protected down(): boolean {
    return false;
  }

  protected move(): void {}

  protected up(): void {}

  paint(): void {
    const ctx = this.ctx;
    const [w, h] = this.size();
    this.stage.begin(ctx);
    if (this.bitmap) ctx.drawImage(this.bitmap, 0, 0, w, h);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.stage.painted();
    this.drawList();
    this.drawInfo();
  }

  private drawList(): void {
    const t = this.model.get("threshold");
    const sel = this.model.get("selected");
    this.list.replaceChildren(...this.model.get("labels").map((l) => {
      const row = el("span", `nblabel-image-label${l.id === sel ? " nblabel-selected" : ""}`,
        `${l.label}${l.conf === null ? "" : ` ${(l.conf * 100).toFixed(0)}%`}`);
      row.dataset.id = l.id;
      row.dataset.label = l.label;
      row.dataset.status = statusName(l.status);
      row.dataset.below = String(l.status === PENDING && l.conf !== null && l.conf < t);
      row.style.borderColor = statusColour(l.status);
      return row;
    }));
  }

  private drawInfo(): void {
    const labels = this.model.get("labels");
    const pending = labels.filter((l) => l.status === PENDING).length;
    const d = this.root.dataset;
    d.sample = this.model.get("sample_id");
    d.selected = this.model.get("selected");
    d.decided = String(labels.length - pending);
    d.pending = String(pending);
    if (this.bitmap) d.painted = this.model.get("sample_id");
    this.info.textContent = `image ${this.model.get("position") + 1}/${this.model.get("total")}`
      + ` · ${labels.length - pending} of ${labels.length} labels decided`
      + ` · threshold ≥ ${this.model.get("threshold").toFixed(2)}`
      + (this.stage.zoom > 1.001 ? ` · zoom ${Math.round(this.stage.zoom * 100)}%` : "")
      + (this.model.get("reviewed") ? " · reviewed" : "");
  }

  dispose(): void {
    this.leaveView();
  }
}
