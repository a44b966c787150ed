// The one declaration of what crosses between Python (nblabel.reviewing.video_widget) and the
// video widget: its traitlets and every message kind in each direction.
import type { AttributeSpec, AttributeValue, AttributeValues } from "../editor/attributes";

/** A track as the timeline draws it (Python's ``track_summary``). */
export interface TrackSummary {
  id: string;
  label: string;
  status: "pending" | "accepted" | "rejected" | "edited" | "added";
  first: number;
  last: number;
  score: number;
  flags: number[];
  keyframes: number[];
  /** Mean confidence of each of up to 32 equal pieces of the track (null: none). */
  conf: (number | null)[];
  /** The track's attributes (null: none set). */
  attributes: AttributeValues | null;
}

/** A box on a frame: track id, x, y, w, h (pixels), status code, confidence. */
export type FrameBox = [string, number, number, number, number, number, number | null];

export interface VideoTraits {
  sample_id: string;
  filename: string;
  total_frames: number;
  width: number;
  height: number;
  fps: number;
  frame: number;
  tracks: TrackSummary[];
  selected: string;
  message: string;
  classes: string[];
  /** Declared attributes (the shared editor's trait; this kind keeps none yet). */
  attributes: Record<string, AttributeSpec[]>;
  reviewed: boolean;
}

export type TrackAction = "accept" | "reject" | "relabel" | "attributes" | "split" | "end" | "bridge" | "merge"
  | "swap" | "fix" | "retrack" | "new" | "undo" | "redo" | "accept_rest" | "complete";

/** Messages the browser sends. */
export type VideoToPython =
  | { kind: "hello" }
  | { kind: "want"; frame: number; missing: number[] }
  | { kind: "full"; frame: number }
  | { kind: "act"; seq: number; action: TrackAction; track: string; frame: number;
      other?: string; start?: number; label?: string; box?: [number, number, number, number];
      from_here?: boolean;
      values?: Record<string, AttributeValue | null> };

/** Messages Python sends (``frames``: one JPEG buffer per number, in order). */
export type VideoFromPython =
  | { kind: "frames"; numbers: number[]; boxes: Record<string, FrameBox[]> }
  | { kind: "boxes"; frames: Record<string, FrameBox[]>; reset: boolean }
  | { kind: "full"; frame: number }
  | { kind: "answer"; seq: number; error: string | null };

export const VIDEO_TO_PYTHON_KINDS = ["hello", "want", "full", "act"] as const satisfies
  readonly VideoToPython["kind"][];
export const VIDEO_FROM_PYTHON_KINDS = ["frames", "boxes", "full", "answer"] as const satisfies
  readonly VideoFromPython["kind"][];
