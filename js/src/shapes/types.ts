// The one declaration of what crosses between Python (nblabel.reviewing.shape_widget) and the
// shapes widget (keypoints and polylines): its traitlets and every message kind.
import type { AttributeSpec, AttributeValue, AttributeValues } from "../editor/attributes";

/** A shape as the widget draws it (Python's ``shape_wire``). */
export interface WireShape {
  id: string;
  label: string;
  /** Points in image pixels; null where a keypoint is absent. */
  points: ([number, number] | null)[];
  /** Per point: model confidence (null: none), visible (false: occluded), state code. */
  conf: (number | null)[];
  vis: boolean[];
  pst: number[];
  /** Shape status code (``STATUSES``). */
  status: number;
  closed: boolean;
  /** The shape's attributes (null: none set). */
  attributes: AttributeValues | null;
}

export interface ShapeTraits {
  kind: "keypoints" | "polyline";
  sample_id: string;
  position: number;
  total: number;
  image: DataView | null;
  width: number;
  height: number;
  shapes: WireShape[];
  skeleton: { names: string[]; edges: [number, number][] };
  classes: string[];
  /** Declared attributes (the shared editor's trait; this kind keeps none yet). */
  attributes: Record<string, AttributeSpec[]>;
  selected: string;
  point: number;
  message: string;
  assist: boolean;
  reviewed: boolean;
}

export type ShapeActionName = "accept" | "reject" | "relabel" | "attributes" | "accept_point" | "reject_point"
  | "hide_point" | "move_point" | "reshape" | "add" | "delete" | "accept_rest" | "undo"
  | "redo" | "complete" | "show_proposals";

/** Messages the browser sends. */
export type ShapesToPython =
  | { kind: "act"; seq: number; action: ShapeActionName; shape: string; point?: number;
      xy?: [number, number]; points?: ([number, number] | null)[]; closed?: boolean;
      label?: string; values?: Record<string, AttributeValue | null> }
  | { kind: "nav"; to: "next" | "prev" | "next_pending" };

/** Messages Python sends. */
export type ShapesFromPython = { kind: "answer"; seq: number; error: string | null };

export const SHAPES_TO_PYTHON_KINDS = ["act", "nav"] as const satisfies
  readonly ShapesToPython["kind"][];
export const SHAPES_FROM_PYTHON_KINDS = ["answer"] as const satisfies
  readonly ShapesFromPython["kind"][];
