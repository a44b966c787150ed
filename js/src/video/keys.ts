// The video widget's keys, defined once (keys.json); Python reads the same file for its help.
import keys from "./keys.json";

export type VideoAction = "next_frame" | "prev_frame" | "forward" | "back" | "play"
  | "next_track" | "prev_track" | "next_suspect" | "next_keyframe" | "first_frame" | "accept"
  | "reject" | "split" | "end" | "retrack" | "new_track" | "mark" | "bridge" | "merge" | "swap" | "accept_rest"
  | "complete" | "undo" | "redo" | "help";

interface Binding { action: VideoAction; keys: string[]; help: string }

export const VIDEO_KEYS = keys as { display: Record<string, string>; bindings: Binding[];
  mouse: { label: string; help: string }[] };

const BY_KEY = new Map<string, VideoAction>();
for (const b of VIDEO_KEYS.bindings) {
  for (const k of b.keys) {
    if (BY_KEY.has(k)) throw new Error(`key ${k} is bound twice`);
    BY_KEY.set(k, b.action);
  }
}

/** The keymap's name of a key event: "a", "A", "Shift+ArrowRight", "Ctrl+z", " ". */
export function videoKeyName(e: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey"
  | "shiftKey">): string {
  if (e.ctrlKey || e.metaKey) {
    return e.shiftKey ? `Ctrl+Shift+${e.key.toUpperCase()}` : `Ctrl+${e.key.toLowerCase()}`;
  }
  if (e.shiftKey && (e.key.startsWith("Arrow") || e.key === "Tab")) return `Shift+${e.key}`;
  return e.key;
}

export function videoAction(e: Parameters<typeof videoKeyName>[0]): VideoAction | null {
  return BY_KEY.get(videoKeyName(e)) ?? null;
}

/** Rows of the help: keys as written, what they do. */
export function videoHelp(): [string, string][] {
  const d = VIDEO_KEYS.display;
  return [...VIDEO_KEYS.bindings.map((b): [string, string] =>
    [b.keys.map((k) => d[k] ?? k).join(" / "), b.help]),
  ...VIDEO_KEYS.mouse.map((m): [string, string] => [m.label, m.help])];
}
