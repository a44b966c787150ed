// The one declaration of what crosses between Python (nblabel.reviewing.volume_widget) and the
// volume widget: its traitlets and every message kind in each direction.

import type { AttributeSpec, AttributeValue, AttributeValues } from "../editor/attributes";

/** A box on a slice: key, label, x, y, w, h (slice pixels), status code, confidence, and the
 *  outline of its mask (pixels) or null. */
export type SliceBox = [string, string, number, number, number, number, number, number | null,
  [number, number][] | null, AttributeValues | null];

export interface VolumeTraits {
  series: string;
  modality: string;
  n_slices: number;
  rows: number;
  cols: number;
  spacing: number[];
  slice: number;
  window: number[];
  presets: Record<string, number[]>;
  selected: string;
  message: string;
  classes: string[];
  attributes: Record<string, AttributeSpec[]>;
  pending: number[];
  done: number[];
}

export type VolumeActionName = "accept" | "reject" | "fix" | "relabel" | "attributes" | "add"
  | "accept_rest" | "complete" | "undo" | "redo";

/** Messages the browser sends. */
export type VolumeToPython =
  | { kind: "hello" }
  | { kind: "want"; slice: number; missing: number[] }
  | { kind: "act"; seq: number; action: VolumeActionName; slice: number; key: string;
      label?: string; box?: [number, number, number, number];
      values?: Record<string, AttributeValue | null> };

/** How a slice's buffer is encoded (Python's ``_wire``): ``int16z`` is deflated int16 in two
 *  byte planes (all low bytes, then all high bytes); ``float32`` is raw little-endian. */
export type SliceEncoding = "int16z" | "float32";

/** Messages Python sends (``slices``: one buffer per number). */
export type VolumeFromPython =
  | { kind: "slices"; numbers: number[]; dtypes: SliceEncoding[];
      boxes: Record<string, SliceBox[]> }
  | { kind: "boxes"; slices: Record<string, SliceBox[]> }
  | { kind: "answer"; seq: number; error: string | null };

export const VOLUME_TO_PYTHON_KINDS = ["hello", "want", "act"] as const satisfies
  readonly VolumeToPython["kind"][];
export const VOLUME_FROM_PYTHON_KINDS = ["slices", "boxes", "answer"] as const satisfies
  readonly VolumeFromPython["kind"][];
