// How a box looks: colour by class, line by status, opacity by confidence. One place, so the
// box layer, the live layer, the minimap and the row list agree.
import type { Row, Status } from "./types";

const PALETTE = [
  "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
  "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075",
];

/** Colour for a class: by its index in the class list, stable across images. */
export function classColour(classes: readonly string[], label: string): string {
  let i = classes.indexOf(label);
  if (i < 0) {
    i = 0;
    for (const ch of String(label)) i = (i * 31 + ch.charCodeAt(0)) >>> 0;
  }
  return PALETTE[i % PALETTE.length];
}

export interface LineStyle {
  width: number; // screen pixels
  dash: number[]; // screen pixels
  alpha: number;
  fill: number; // fill opacity, 0 for none
}

/** Pending: thin, more opaque the more confident; decided: thicker, solid and clearly tinted; rejected: dashed
 *  and faint; below the threshold: dotted and fainter still. A decision on its way (painted
 *  before Python journaled it): its status's colour and weight, short dashes, half the tint. */
export function lineStyle(
  row: Pick<Row, "status" | "confidence" | "visible" | "focus" | "sending">,
): LineStyle {
  if (!row.visible) return { width: 1, dash: [1, 3], alpha: 0.3, fill: 0 };
  if (row.sending) {
    const rejected = row.status === "rejected";
    return { width: rejected ? 1 : 1.5, dash: [2, 2], alpha: rejected ? 0.45 : 0.9,
      fill: rejected ? 0 : 0.07 };
  }
  const focus = row.focus ? 1 : 0;
  const byStatus: Record<Status, LineStyle> = {
    pending: { width: 1 + focus, dash: [], alpha: confidenceAlpha(row.confidence), fill: 0 },
    accepted: { width: 2 + focus, dash: [], alpha: 1, fill: 0.25 },
    edited: { width: 2 + focus, dash: [], alpha: 1, fill: 0.25 },
    added: { width: 2 + focus, dash: [], alpha: 1, fill: 0.25 },
    rejected: { width: 1, dash: [4, 3], alpha: 0.45, fill: 0 },
  };
  return byStatus[row.status];
}

/** Opacity of a pending box: 0.4 at confidence 0 to 1 at 1, in five steps (few draw batches). */
export function confidenceAlpha(confidence: number | null): number {
  if (confidence === null) return 1;
  const c = Math.min(1, Math.max(0, confidence));
  return 0.4 + 0.15 * Math.round(c * 4);
}

/** A status mark after the label text. */
export const MARKS: Record<Status, string> = {
  pending: "", accepted: " ✓", rejected: " ✗", edited: " ✎", added: " +",
};

/** The text shown for a box: class, confidence, status mark. Always set as text. */
export function labelText(row: Pick<Row, "label" | "confidence" | "status" | "sending">
): string {
  const conf = row.confidence === null ? "" : ` ${(row.confidence * 100).toFixed(0)}%`;
  return `${row.label}${conf}${MARKS[row.status]}${row.sending ? " …" : ""}`;
}

/** Black or white text, whichever reads better on `hex`. */
export function textOn(hex: string): string {
  const v = parseInt(hex.slice(1), 16);
  const r = (v >> 16) & 255;
  const g = (v >> 8) & 255;
  const b = v & 255;
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#000" : "#fff";
}
