// The one editor of the canvas kinds (video, shapes, volume): what every kind shows and does
// the same way, so a kind adds only what is its own (a timeline, a skeleton, window/level).
// Shared here: the focusable root and its layout (info line, class list, zoomable canvas with
// minimap, message line, help), the keys every kind has (zoom, fit, class, undo, redo, help),
// requests with their time limit and revert, and pointer routing (pan first, then the kind).
import type { AnyModel } from "@anywidget/types";
import { type AttributeSpec, type AttributeValue, type AttributeValues, AttributePanel }
  from "./attributes";
import { ClassPicker } from "./classpicker";
import { el } from "./dom";
import type { Keyset, SharedAction } from "./keyset";
import { helpPanel, keepInput, panelRoot } from "./panel";
import { Requests } from "./requests";
import { stayInView } from "./stayinview";
import { type StageSize, ZoomStage } from "./zoomstage";
import { CONTRACT } from "./contract";

/** The traits every kind has (Python's EditorWidget, and each kind's `classes`). */
export interface EditorTraits {
  message: string;
  selected: string;
  classes: string[];
  attributes: Record<string, AttributeSpec[]>;
}

/** The selected label as the attribute panel shows it. */
export interface AttributeTarget { key: string; label: string; values: AttributeValues | null }

/** Every kind's answer message (Python's ``EditorWidget.answer``). */
export interface AnswerMessage { kind: "answer"; seq: number; error: string | null }

export abstract class KindView<T extends EditorTraits, A extends string> {
  readonly root: HTMLDivElement;
  readonly info: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  readonly message = el("div", "nblabel-message");
  readonly help: HTMLDivElement;
  readonly stage: ZoomStage;
  readonly picker: ClassPicker;
  readonly attrs: AttributePanel;
  readonly requests: Requests;
  protected readonly ctx: CanvasRenderingContext2D;
  /** Stops watching for "Run All" scrolling the widget away (on dispose). */
  protected readonly leaveView: () => void;

  constructor(readonly model: AnyModel<T>, host: HTMLElement, kind: string,
    protected keys: Keyset<A>, limits: StageSize) {
    this.root = panelRoot(kind);
    this.info = el("div", `nblabel-${kind}-info nblabel-info`);
    this.canvas = el("canvas", `nblabel-${kind}-canvas nblabel-canvas`);
    this.help = helpPanel(keys.help());
    this.ctx = this.canvas.getContext("2d")!;
    this.stage = new ZoomStage(this.canvas, {
      size: () => this.size(),
      paint: () => this.paint(),
      source: () => this.source(),
      wheel: (e) => this.wheel(e),
    }, limits, this.root);
    this.picker = new ClassPicker((label) => this.picked(label),
      () => this.root.focus({ preventScroll: true }));
    this.attrs = new AttributePanel((key, name, value) => {
      this.setAttribute(key, name, value);
      this.root.focus({ preventScroll: true });
    }, () => this.root.focus({ preventScroll: true }));
    this.requests = new Requests({
      root: this.root,
      send: (m) => this.model.send(m),
      say: (text) => this.say(text),
    });
    host.appendChild(this.root);
    this.leaveView = stayInView(this.root); // "Run All" scrolled past it: come back
    this.message.textContent = model.get("message"); // e.g. what was wrong with the input
    model.on("change:message", () => this.say(model.get("message")));
    model.on("change:classes", () => this.showClasses());
    model.on("change:attributes", () => this.showClasses());
    keepInput(this.root, (e) => {
      const a = this.keys.action(e);
      if (a) this.key(a);
      return a !== null;
    });
    this.canvas.addEventListener("pointerdown", (e) => {
      if (this.stage.maybePan(e)) return;
      if (!this.down(e)) this.stage.maybePan(e, true);
    });
    this.canvas.addEventListener("pointermove", (e) => {
      if (!this.stage.panMove(e)) this.move(e);
    });
    this.canvas.addEventListener("pointerup", (e) => {
      if (!this.stage.panEnd()) this.up(e);
    });
  }

  /** Lay out the parts: info, toolbar, class list, attributes, the stage, the kind's extra
   *  parts, the message and the help. */
  protected mount(...extra: HTMLElement[]): void {
    this.root.append(this.info, this.toolbar(), this.picker.el, this.attrs.el, this.stage.wrap,
      ...extra, this.message, this.help);
  }

  /** Buttons for the kind's main actions (``[text, action]``), then the shared ones; each
   *  button does what its key does (its title names the key). */
  protected buttons(): [string, A][] {
    return [];
  }

  private toolbar(): HTMLDivElement {
    const bar = el("div", "nblabel-toolbar");
    const shared: [string, SharedAction][] = [["↶", "undo"], ["↷", "redo"], ["−", "zoom_out"],
      ["+", "zoom_in"], ["fit", "fit"], ["?", "help"]];
    const keyOf = new Map(this.keys.file.bindings.map((b) => [b.action as string, b.keys[0]]));
    for (const [text, action] of [...this.buttons(), ...shared] as [string, A | SharedAction][]) {
      const b = el("button", "nblabel-btn", text);
      b.type = "button";
      b.tabIndex = -1;
      b.dataset.action = action;
      const help = this.keys.file.bindings.find((x) => x.action === action)?.help ?? action;
      b.title = `${help} (${keyOf.get(action) ?? ""})`;
      b.addEventListener("click", (e) => {
        e.preventDefault();
        this.key(action);
        this.root.focus({ preventScroll: true });
      });
      bar.appendChild(b);
    }
    return bar;
  }

  say(text: string): void {
    this.message.textContent = text;
  }

  /** The class list (Python's classes, the selected object's class shown as picked) and the
   *  selected label's attributes. */
  protected showClasses(): void {
    this.picker.set(this.model.get("classes") ?? [], this.selectedLabel());
    const t = this.attributeTarget();
    this.attrs.show(this.model.get("attributes") ?? {}, t?.key ?? null, t?.label ?? null,
      t?.values ?? null);
  }

  /** The class of a new object: the one picked, else the contract's default. */
  newLabel(): string {
    return this.picker.value || CONTRACT.default_label;
  }

  /** Send an action (one request: answered, refused or timed out, with `revert`). */
  request(msg: Record<string, unknown>, revert: (() => void) | null = null): void {
    this.requests.request(msg, revert);
  }

  /** Accept or reject the selected object, painted at once: once every earlier request is
   *  answered (so it applies to the object Python selected after them), `paint()` changes
   *  what is shown and returns how to put it back, then the request goes; a refusal or a
   *  time-out puts it back. `send(revert)` sends the kind's message. */
  protected decideNow(paint: () => (() => void) | null,
    send: (revert: (() => void) | null) => void): void {
    this.requests.answers.whenFree(() => {
      const back = paint();
      this.paint();
      send(back ? () => {
        back();
        this.paint();
      } : null);
    });
  }

  /** Every kind's answer and refusal (true when `msg` was one). */
  protected answered(msg: { kind: string }): boolean {
    if (msg.kind !== "answer") return false;
    const a = msg as AnswerMessage;
    this.requests.answered(a.seq, a.error);
    if (!a.error) this.say(this.model.get("message"));
    return true;
  }

  private key(a: A | SharedAction): void {
    const shared: Partial<Record<SharedAction, () => void>> = {
      zoom_in: () => this.stage.zoomBy(CONTRACT.zoom.key_step),
      zoom_out: () => this.stage.zoomBy(1 / CONTRACT.zoom.key_step),
      fit: () => this.stage.fit(),
      pick_class: () => this.picker.open(),
      attributes: () => this.attrs.open(),
      help: () => {
        this.help.hidden = !this.help.hidden;
      },
    };
    const own = shared[a as SharedAction];
    if (own) own();
    else this.act(a as A | "undo" | "redo");
  }

  /** A kind's own key (and undo, redo: the kind's request). */
  abstract act(a: A | "undo" | "redo"): void;
  /** The reviewer picked `label` in the class list: relabel the selected object. */
  protected abstract picked(label: string): void;
  /** The selected object's class, or null. */
  protected abstract selectedLabel(): string | null;
  /** The content's size in image pixels. */
  abstract size(): [number, number];
  /** The frame, slice or image on screen (for the minimap). */
  abstract source(): CanvasImageSource | null;
  /** Repaint everything. */
  abstract paint(): void;
  /** The selected label whose attributes the panel shows (null: none; a kind that keeps no
   *  attributes yet shows none). */
  protected attributeTarget(): AttributeTarget | null {
    return null;
  }
  /** The reviewer set attribute `name` of label `key`. */
  protected setAttribute(_key: string, _name: string, _value: AttributeValue | null): void {
    this.say("this kind keeps no attributes yet");
  }
  /** A plain wheel turn (no Ctrl): true when used. */
  protected wheel(_e: WheelEvent): boolean {
    return false;
  }
  /** A press on the canvas: true when the kind used it (else it may pan). */
  protected abstract down(e: PointerEvent): boolean;
  protected abstract move(e: PointerEvent): void;
  protected abstract up(e: PointerEvent): void;
}
