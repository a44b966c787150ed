// The image-level labels widget's own keys, defined once (keys.json; the shared ones:
// ../editor/keys.json); Python reads the same files for its help.
import { Keyset } from "../editor/keyset";
import keys from "./keys.json";

export type LabelKey = "next_image" | "prev_image" | "next_label" | "prev_label" | "accept"
  | "reject" | "accept_above" | "threshold_down" | "threshold_up" | "complete";

export const LABEL_KEYS = new Keyset(keys as ConstructorParameters<typeof Keyset<LabelKey>>[0]);
