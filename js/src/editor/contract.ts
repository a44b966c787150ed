// The constants Python and every widget share, declared once in contract.json (Python reads the
// same file: nblabel.reviewing.editor.contract): statuses and their colours, the default label,
// the answer time limit, the box editor's margins, zoom limits, the media windows.
import contract from "./contract.json";

export interface MediaWindow { chunk: number; behind: number; ahead: number; keep: number }

export const CONTRACT = contract as {
  statuses: string[];
  colours: string[];
  default_label: string;
  answer_limit_ms: number;
  box: { hit_margin_px: number; handle_px: number; min_size: number };
  zoom: { min: number; max: number; key_step: number; wheel_step: number };
  media: { video: MediaWindow; volume: MediaWindow };
  frame_max_side: number;
  full_res_after_scale: number;
};

/** Status codes on the wire (index = code). */
export const STATUSES = CONTRACT.statuses as readonly string[];
export const PENDING = 0;
export const REJECTED = STATUSES.indexOf("rejected");
export const ADDED = STATUSES.indexOf("added");

/** The colour of a status code (pending for an unknown one). */
export function statusColour(code: number): string {
  return CONTRACT.colours[code] ?? CONTRACT.colours[0];
}

/** The name of a status code. */
export function statusName(code: number): string {
  return STATUSES[code] ?? "pending";
}
