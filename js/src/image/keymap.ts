// The keys, defined once (keymap.json): this module maps a key event to an action and builds the
// help; Python reads the same file (nblabel.reviewing.keys) for its help.
import keymap from "./keymap.json";

export type KeyAction =
  | "next_box" | "prev_box" | "accept" | "reject" | "accept_all" | "relabel" | "draw"
  | "select_shown" | "escape" | "next_image" | "prev_image" | "done" | "undo" | "redo"
  | "hide_decided"
  | "only_class" | "labels" | "threshold_down" | "threshold_up" | "zoom_in" | "zoom_out" | "fit"
  | "actual_pixels" | "mode" | "classify" | "image_class" | "segment" | "brush"
  | "polygon" | "attributes" | "help";

export interface Binding {
  action: KeyAction;
  keys: string[];
  help: string;
  label?: string;
}

export interface KeyMap {
  display: Record<string, string>;
  bindings: Binding[];
  mouse: { label: string; help: string }[];
}

export const KEYMAP = keymap as KeyMap;

const BY_KEY = new Map<string, Binding>();
for (const b of KEYMAP.bindings) {
  for (const k of b.keys) {
    if (BY_KEY.has(k)) throw new Error(`key ${k} is bound twice`);
    BY_KEY.set(k, b);
  }
}

/** What the keymap calls a key event: "a", "A", "Shift+Tab", "Ctrl+z", "Alt+2", "?". */
export function keyName(e: Pick<KeyboardEvent, "key" | "code" | "ctrlKey" | "metaKey"
  | "altKey" | "shiftKey">): string {
  if (e.ctrlKey || e.metaKey) {
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    return e.shiftKey ? `Ctrl+Shift+${k.toUpperCase()}` : `Ctrl+${k}`;
  }
  if (e.altKey) {
    const digit = /^Digit([0-9])$/.exec(e.code);
    return `Alt+${digit ? digit[1] : e.key}`;
  }
  if (e.key === "Tab" && e.shiftKey) return "Shift+Tab";
  return e.key;
}

/** The binding of a key event and the index of the key in it (1 … 9 → 0 … 8), or null. */
export function lookup(e: Parameters<typeof keyName>[0]): { action: KeyAction; index: number } | null {
  const name = keyName(e);
  const b = BY_KEY.get(name);
  return b ? { action: b.action, index: b.keys.indexOf(name) } : null;
}

/** How a binding's keys are written in the help. */
export function keysLabel(b: Pick<Binding, "keys" | "label">): string {
  return b.label ?? b.keys.map((k) => KEYMAP.display[k] ?? k).join(" / ");
}

/** The help: [keys, what they do], keys then mouse. */
export function helpRows(): [string, string][] {
  return [
    ...KEYMAP.bindings.map((b): [string, string] => [keysLabel(b), b.help]),
    ...KEYMAP.mouse.map((m): [string, string] => [m.label, m.help]),
  ];
}

/** The help line of one action, e.g. for a button's title: "accept … (a / Enter)". */
export function titleOf(action: KeyAction): string {
  const b = KEYMAP.bindings.find((x) => x.action === action);
  return b ? `${b.help} (${keysLabel(b)})` : action;
}
