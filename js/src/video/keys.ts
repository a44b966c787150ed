// The video widget's own keys, defined once (keys.json; the shared ones: ../editor/keys.json);
// Python reads the same files for its help.
import { Keyset, type SharedAction, keyName } from "../editor/keyset";
import keys from "./keys.json";

export type VideoAction = "next_frame" | "prev_frame" | "forward" | "back" | "play"
  | "next_track" | "prev_track" | "next_suspect" | "next_keyframe" | "first_frame" | "accept"
  | "reject" | "split" | "end" | "retrack" | "new_track" | "mark" | "bridge" | "merge" | "swap"
  | "accept_rest" | "complete";

export const VIDEO_KEYS = new Keyset(keys as ConstructorParameters<typeof Keyset<VideoAction>>[0]);

export function videoAction(e: Parameters<typeof keyName>[0]): VideoAction | SharedAction | null {
  return VIDEO_KEYS.action(e);
}

/** Rows of the help: keys as written, what they do. */
export function videoHelp(): [string, string][] {
  return VIDEO_KEYS.help();
}
