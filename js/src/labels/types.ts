// The one declaration of what crosses between Python (nblabel.reviewing.labels.widget) and the
// image-level labels widget: its traitlets and every message kind in each direction.
import type { AttributeSpec, AttributeValue, AttributeValues } from "../editor/attributes";

/** An image-level label as the widget lists it (Python's ``label_wire``). */
export interface WireLabel {
  id: string;
  label: string;
  /** The model's confidence (null: added by hand). */
  conf: number | null;
  /** Status code (the contract's statuses). */
  status: number;
  attributes: AttributeValues | null;
}

export interface LabelTraits {
  sample_id: string;
  position: number;
  total: number;
  image: DataView | null;
  width: number;
  height: number;
  labels: WireLabel[];
  threshold: number;
  classes: string[];
  selected: string;
  message: string;
  reviewed: boolean;
  attributes: Record<string, AttributeSpec[]>;
}

export type LabelActionName = "accept" | "reject" | "accept_above" | "accept_rest" | "complete"
  | "add" | "relabel" | "attributes" | "undo" | "redo";

/** Messages the browser sends. */
export type LabelsToPython =
  | { kind: "act"; seq: number; action: LabelActionName; label_id: string; label?: string;
      threshold?: number; values?: Record<string, AttributeValue | null> }
  | { kind: "nav"; to: "next" | "prev" | "next_pending" };

/** Messages Python sends. */
export type LabelsFromPython = { kind: "answer"; seq: number; error: string | null };

export const LABELS_TO_PYTHON_KINDS = ["act", "nav"] as const satisfies
  readonly LabelsToPython["kind"][];
export const LABELS_FROM_PYTHON_KINDS = ["answer"] as const satisfies
  readonly LabelsFromPython["kind"][];
