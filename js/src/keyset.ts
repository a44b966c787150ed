// A widget's keys, defined once in its keys.json (Python reads the same file for the docs'
// help): the action of a key event and the help's rows. Used by the video and shapes widgets.

export interface Binding<A extends string> { action: A; keys: string[]; help: string }

export interface KeyFile<A extends string> {
  display: Record<string, string>;
  bindings: Binding<A>[];
  mouse: { label: string; help: string }[];
}

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
  private byKey = new Map<string, A>();

  constructor(public file: KeyFile<A>) {
    for (const b of file.bindings) {
      for (const k of b.keys) {
        if (this.byKey.has(k)) throw new Error(`key ${k} is bound twice`);
        this.byKey.set(k, b.action);
      }
    }
  }

  action(e: Parameters<typeof keyName>[0]): A | null {
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
