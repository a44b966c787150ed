// State: what Python decided (RowStore: the rows of the image on screen, replaced or patched by
// Python's messages) apart from what only this view holds (UiState: hover, multi-selection,
// filters, the gesture in progress). Pure: no DOM, unit-tested in Node.
import type { Box4, Row } from "./types";
import type { Handle } from "../editor/view";

export class RowStore {
  sampleId: string | null = null;
  rows: Row[] = [];
  private byKey = new Map<string, number>();

  /** Replace every row (a new image, or Python's full state). */
  setAll(sampleId: string, rows: Row[]): void {
    this.sampleId = sampleId;
    this.rows = rows;
    this.byKey = new Map(rows.map((r, i) => [r.key, i]));
  }

  indexOf(key: string | null | undefined): number {
    return key == null ? -1 : this.byKey.get(key) ?? -1;
  }

  get(key: string | null | undefined): Row | undefined {
    const i = this.indexOf(key);
    return i < 0 ? undefined : this.rows[i];
  }

  /**
   * Apply Python's changes: rows with a known key replace it in place, new keys are appended,
   * `removed` keys are taken out. Returns the changed indices (with the box each had before) and
   * whether rows were added or removed (indices then shift: the caller re-indexes).
   */
  apply(changed: Row[], removed: readonly string[]): { changed: { index: number; before: Box4 | null }[]; structural: boolean } {
    const out: { index: number; before: Box4 | null }[] = [];
    let structural = false;
    for (const row of changed) {
      const i = this.byKey.get(row.key);
      if (i === undefined) {
        this.byKey.set(row.key, this.rows.length);
        this.rows.push(row);
        out.push({ index: this.rows.length - 1, before: null });
        structural = true;
      } else {
        out.push({ index: i, before: this.rows[i].box });
        this.rows[i] = row;
      }
    }
    if (removed.length) {
      const gone = new Set(removed);
      const kept = this.rows.filter((r) => !gone.has(r.key));
      if (kept.length !== this.rows.length) {
        structural = true;
        this.setAll(this.sampleId ?? "", kept);
      }
    }
    return { changed: out, structural };
  }
}

export type Drag =
  | { kind: "pan"; start: [number, number]; t: [number, number] }
  | { kind: "box"; key: string; handle: Handle | "move"; start: [number, number]; orig: Box4;
      box: Box4; moved: boolean }
  | { kind: "draw"; start: [number, number]; box: Box4 | null }
  | { kind: "band"; start: [number, number]; box: Box4 | null; base: Set<string> }
  | { kind: "vertex" };

/** What only this view holds. */
export interface UiState {
  hover: string | null;
  /** Boxes selected together (Shift+click, rubber band), besides the selected one. */
  multi: Set<string>;
  hideDecided: boolean;
  onlyClass: string | null;
  allLabels: boolean;
  drawing: boolean;
  drag: Drag | null;
}

export function createUi(): UiState {
  return { hover: null, multi: new Set(), hideDecided: false, onlyClass: null, allLabels: false,
    drawing: false, drag: null };
}

/** Whether a row is drawn: Python's visibility (threshold), then this view's filters. */
export function shown(row: Row, ui: Pick<UiState, "hideDecided" | "onlyClass">): boolean {
  if (!row.visible || row.unusable) return false;
  if (ui.hideDecided && row.status !== "pending") return false;
  return ui.onlyClass === null || row.label === ui.onlyClass;
}

/**
 * The key `delta` steps from `current` among the rows shown, in the rows' order (Python sends
 * them in reading order), wrapping around; unusable rows are reachable (they must be rejected).
 */
export function stepKey(rows: readonly Row[], current: string | null, delta: number,
  ui: Pick<UiState, "hideDecided" | "onlyClass">): string | null {
  const n = rows.length;
  if (!n) return null;
  const ok = (r: Row) => shown(r, ui) || r.unusable !== null;
  let i = rows.findIndex((r) => r.key === current);
  if (i < 0) i = delta > 0 ? -1 : n;
  for (let k = 1; k <= n; k++) {
    const row = rows[(((i + delta * k) % n) + n) % n];
    if (ok(row)) return row.key;
  }
  return null;
}

/** The keys a decision applies to: the multi-selection with the selected box, else the latter. */
export function targetKeys(selected: string | null, multi: ReadonlySet<string>): string[] {
  const keys = [...multi];
  if (selected && !multi.has(selected)) keys.unshift(selected);
  return keys;
}
