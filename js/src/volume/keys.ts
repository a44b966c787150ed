// The volume widget's keys, defined once (keys.json); Python reads the same file for its help.
import { Keyset } from "../editor/keyset";
import keys from "./keys.json";

export type VolumeKey = "next_slice" | "prev_slice" | "forward" | "back" | "next_pending"
  | "next_box" | "preset_1" | "preset_2" | "preset_3" | "preset_4" | "preset_5" | "preset_0"
  | "accept" | "reject" | "draw" | "accept_rest" | "complete";

export const VOLUME_KEYS = new Keyset(keys as ConstructorParameters<typeof Keyset<VolumeKey>>[0]);
