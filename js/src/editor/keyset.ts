// A widget's keys, defined once in its keys.json, with the keys every kind shares (zoom, class,
// undo, help: ./keys.json) added once here; Python reads the same files for the docs' help.

import shared from "./keys.json";

export interface Binding<A extends string> { action: A; keys: string[]; help: string }

export interface KeyFile<A extends string> {
  display: Record<string, string>;
  bindings: Binding<A>[];
  mouse: { label: string; help: string }[];
}

/** What every kind's keys do the same way (js/src/editor/keys.json). */
export type SharedAction = "zoom_in" | "zoom_out" | "fit" | "pick_class" | "attributes"
  | "undo" | "redo" | "help";
export const SHARED_KEYS = shared as KeyFile<SharedAction>;

/** The keymap's name of a key event: "a", "A", "Shift+ArrowRight", "Ctrl+z", " ". */
export function keyName(e: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey"
  | "shiftKey">): string {
  if (e.ctrlKey || e.metaKey) {
    return e.shiftKey ? `Ctrl+Shift+${e.key.toUpperCase()}` : `Ctrl+${e.key.toLowerCase()}`;
  }
  if (e.shiftKey && (e.key.startsWith("Arrow") || e.key === "Tab" || e.key === "Enter")) {
    return `Shift+${e.key}`;
  }
  return e.key;
}

export class Keyset<A extends string> {
  readonly file: KeyFile<A | SharedAction>;
  private byKey = new Map<string, A | SharedAction>();

  /** A kind's own keys (`own`) and the shared ones; a key bound twice throws. */
  constructor(own: KeyFile<A>) {
    this.file = { display: { ...SHARED_KEYS.display, ...own.display },
      bindings: [...own.bindings, ...SHARED_KEYS.bindings],
      mouse: [...own.mouse, ...SHARED_KEYS.mouse] };
    for (const b of this.file.bindings) {
      for (const k of b.keys) {
        if (this.byKey.has(k)) throw new Error(`key ${k} is bound twice`);
        this.byKey.set(k, b.action);
      }
    }
  }

  action(e: Parameters<typeof keyName>[0]): A | SharedAction | null {
    return this.byKey.get(keyName(e)) ?? null;
  }

  /** Rows of the help: keys as written, what they do. */
  help(): [string, string][] {
    const d = this.file.display;
    return [...this.file.bindings.map((b): [string, string] =>
      [b.keys.map((k) => d[k] ?? k).join(" / "), b.help]),
    ...this.file.mouse.map((m): [string, string] => [m.label, m.help])];
  }
}
