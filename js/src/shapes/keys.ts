// The shapes widget's keys, defined once (keys.json); Python reads the same file for its help.
import { Keyset } from "../editor/keyset";
import keys from "./keys.json";

export type ShapeKey = "next_image" | "prev_image" | "next_shape" | "prev_shape" | "next_point"
  | "prev_point" | "accept" | "reject" | "accept_point" | "reject_point" | "hide_point"
  | "new_shape" | "finish" | "finish_closed" | "skip_point" | "cancel" | "delete"
  | "show_proposals" | "accept_rest" | "complete";

export const SHAPE_KEYS = new Keyset(keys as ConstructorParameters<typeof Keyset<ShapeKey>>[0]);
