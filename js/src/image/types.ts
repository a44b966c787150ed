// The one declaration of what crosses between Python and the browser: the widget's traitlets
// (ModelTraits), the rows of boxes, and every message kind in each direction. Python's side is
// checked against this file by tests/unit/test_protocol.py (trait names, message kinds).

/** A box in image pixels: x, y (top-left), width, height. */
import type { AttributeSpec, AttributeValue, AttributeValues } from "../editor/attributes";
import { CONTRACT } from "../editor/contract";
import type { Box4 } from "../editor/view";

export type { Box4 };

export type Status = "pending" | "accepted" | "rejected" | "edited" | "added";

/** Status codes on the wire (index = code): the contract's (../editor/contract.json), as
 *  Python's ``nblabel.core.labels.STATUSES``. */
export const STATUSES = CONTRACT.statuses as readonly Status[];

/** Row flags on the wire (bits). */
export const FLAG_VISIBLE = 1; // shown at the threshold (Python decides)
export const FLAG_FOCUS = 2; // the box a patches view points at
export const FLAG_PROPOSAL = 4; // a model's proposal (else a box drawn by hand)

/** One box as the browser holds it, decoded from the wire. */
export interface Row {
  key: string;
  proposal: boolean;
  label: string;
  box: Box4;
  originalBox: Box4 | null;
  originalLabel: string | null;
  confidence: number | null;
  status: Status;
  visible: boolean;
  focus: boolean;
  unusable: string | null;
  mask: DataView | null;
  /** The label's attributes (occluded, truncated, ...), or null when none is set. */
  attributes?: AttributeValues | null;
  /** Painted as decided ahead of Python's answer (on its way); the browser's own, never sent. */
  sending?: boolean;
}

/**
 * Rows on the wire, column by column (compact at 10,000 boxes): numbers are indices into the
 * message's binary buffers. ``box``/``original_box``: float32 x4 per row (NaN: none);
 * ``confidence``: float32 (NaN: none); ``codes``: uint8 x2 (status code, flags);
 * ``label``: uint16 x2 (index into ``labels``, original label index + 1, 0 for none).
 */
export interface RowsWire {
  n: number;
  keys: string[];
  labels: string[];
  box: number;
  original_box: number;
  confidence: number;
  codes: number;
  label: number;
  unusable: Record<string, string>; // row index -> reason
  masks: Record<string, number>; // row index -> buffer index (PNG, white inside)
  /** row index -> the label's attributes (only rows that have some). */
  attributes?: Record<string, AttributeValues>;
}

export interface ImageLabel {
  label?: string | null;
  confidence?: number | null;
  /** Classes to choose from, best first: with the model's score, or null (from scratch). */
  top?: [string, number | null][];
  status?: Status;
  final?: string | null;
}

export interface ReferenceBox {
  label: string;
  box: Box4;
  kind: string;
}

export interface SyncStatusTrait {
  state?: "synced" | "syncing" | "unreachable" | "error";
  waiting?: number;
  message?: string;
}

/** One source of help's measured worth (``HelpMeter.status()`` in Python). */
export interface SourceWorth {
  state?: "unmeasured" | "helping" | "stepped back";
  saving?: number | null;
  reason?: string;
}

/** The widget's traitlets (``ReviewWidget`` in Python), by name and type. */
export interface ModelTraits {
  image: DataView | null;
  image_mime: string;
  image_width: number;
  image_height: number;
  image_preview: boolean;
  image_error: string;
  sample_id: string;
  filename: string;
  image_label: ImageLabel;
  classes: string[];
  /** The labels' declared attributes by class ("*": every class). */
  attributes: Record<string, AttributeSpec[]>;
  selected: string;
  threshold: number;
  mode: "image" | "proposal";
  position: number;
  total: number;
  reviewed: number;
  reviewer: string;
  message: string;
  reference: ReferenceBox[];
  notice: string;
  sync_status: SyncStatusTrait;
  help_status: Record<string, SourceWorth>;
  draw_first: boolean;
  /** The navigation number of the browser's last move that Python has handled. */
  nav: number;
}

export type Decidable = "accepted" | "rejected" | "edited";

/** Messages the browser sends; each kind has one sender in protocol.ts. */
export type ToPython =
  | { kind: "hello" }
  | { kind: "go"; nav: number; delta: number; have?: string }
  | { kind: "goto"; nav: number; position: number }
  | { kind: "done"; seq: number; sample_id: string; seconds: number }
  | { kind: "decide"; seq: number; sample_id: string; keys: string[]; action: Decidable;
      seconds: number; label?: string; box?: Box4 }
  | { kind: "add"; seq: number; sample_id: string; label: string; box: Box4; seconds: number }
  | { kind: "attributes"; seq: number; sample_id: string; key: string;
      values: Record<string, AttributeValue | null>; seconds: number }
  | { kind: "accept_all"; seq: number; sample_id: string; threshold: number; seconds: number }
  | { kind: "classify"; seq: number; sample_id: string; action: Decidable; label: string | null;
      seconds: number }
  | { kind: "add_class"; seq: number; name: string }
  | { kind: "segment"; sample_id: string; req: number; box: Box4 | null;
      points: [number, number, boolean][] }
  | { kind: "accept_mask"; seq: number; sample_id: string; label: string; seconds: number }
  | { kind: "paint"; seq: number; sample_id: string; key: string; stroke: [number, number][];
      radius: number; erase: boolean }
  | { kind: "polygon"; sample_id: string; key: string }
  | { kind: "set_polygon"; seq: number; sample_id: string; key: string;
      points: [number, number][] }
  | { kind: "undo"; seq: number }
  | { kind: "redo"; seq: number }
  | { kind: "full_res"; sample_id: string };

/** Metadata of an image (the image traits, or a prefetch message's fields). */
export interface ImageMeta {
  sample_id: string;
  filename: string;
  image_mime: string;
  image_width: number;
  image_height: number;
  image_preview: boolean;
  image_error: string;
  image_label: ImageLabel;
  /** Nothing is proposed: a drag draws a box (Python's rule). */
  draw_first: boolean;
}

/** Messages Python sends (buffers travel beside them). */
export type FromPython =
  | ({ kind: "prefetch"; position: number; rows: RowsWire; selected: string | null } & ImageMeta)
  | { kind: "rows"; sample_id: string; full: boolean; rows: RowsWire; removed: string[];
      selected: string | null; seq: number | null;
      /** Why Python refused the request `seq` answers (nothing changed), else null. */
      error?: string | null }
  | { kind: "full_res"; sample_id: string; image_mime: string }
  | { kind: "mask"; sample_id: string; req: number; box: Box4 | null; error: string | null }
  | { kind: "polygon"; sample_id: string; key: string; points: [number, number][];
      error: string | null };

export type ToPythonKind = ToPython["kind"];
export type FromPythonKind = FromPython["kind"];
