// The video widget's keys, defined once (keys.json); Python reads the same file for its help.
import { Keyset, keyName } from "../keyset";
import keys from "./keys.json";

export type VideoAction = "next_frame" | "prev_frame" | "forward" | "back" | "play"
  | "next_track" | "prev_track" | "next_suspect" | "next_keyframe" | "first_frame" | "accept"
  | "reject" | "split" | "end" | "retrack" | "new_track" | "mark" | "bridge" | "merge" | "swap" | "accept_rest"
  | "complete" | "undo" | "redo" | "help";

const KEYS = new Keyset(keys as ConstructorParameters<typeof Keyset<VideoAction>>[0]);
export const VIDEO_KEYS = KEYS.file;
export const videoKeyName = keyName;

export function videoAction(e: Parameters<typeof keyName>[0]): VideoAction | null {
  return KEYS.action(e);
}

/** Rows of the help: keys as written, what they do. */
export function videoHelp(): [string, string][] {
  return KEYS.help();
}
