// The selection: one box (the model's `selected` trait, which Python also sets after each
// decision) and a multi-selection kept in the browser (Shift+click, rubber band, Ctrl+A).
import { shown, stepKey } from "./state";
import type { Box4 } from "./types";
import type { ReviewView } from "./widget";

/** Select `key` (`toggle`: add it to or take it out of the multi-selection). */
export function select(v: ReviewView, key: string | null, toggle: boolean): void {
  const multi = v.ui.multi;
  if (toggle && key) {
    if (multi.has(key)) {
      multi.delete(key);
      if (v.selected === key) v.setSelected(multi.values().next().value ?? key);
    } else {
      if (v.selected && v.store.get(v.selected)) multi.add(v.selected);
      multi.add(key);
      v.setSelected(key);
    }
    selectionChanged(v, true);
  } else {
    const hadMulti = multi.size > 0;
    multi.clear();
    if (!v.setSelected(key) || hadMulti) selectionChanged(v, true);
  }
}

export function selectionChanged(v: ReviewView, follow: boolean): void {
  v.masks.selectionChanged();
  v.c.root.dataset.multi = String(v.ui.multi.size);
  v.liveChanged();
  if (follow && v.ui.multi.size === 0 && v.listMulti === 0) {
    v.list.select(v.listState(), v.listSelected); // the highlight moves, no rebuild
    v.listSelected = v.selected;
  } else {
    v.updateList(follow);
  }
  v.drawInfo();
}

/** Rubber band: the boxes shown that lie inside `box`, with those selected before. */
export function band(v: ReviewView, box: Box4, base: ReadonlySet<string>): void {
  const [x, y, w, h] = box;
  const inside = v.index.query(x, y, x + w, y + h).filter((i) => {
    const r = v.store.rows[i];
    return shown(r, v.ui) && r.box[0] >= x && r.box[1] >= y &&
      r.box[0] + r.box[2] <= x + w && r.box[1] + r.box[3] <= y + h;
  });
  v.ui.multi = new Set([...base, ...inside.map((i) => v.store.rows[i].key)]);
  if (inside.length && !v.ui.multi.has(v.selected || "")) {
    v.setSelected(v.store.rows[inside[0]].key);
  }
  selectionChanged(v, false);
}

/** Tab / Shift+Tab: the next or previous box shown, in reading order. */
export function step(v: ReviewView, delta: number): void {
  const hadMulti = v.ui.multi.size > 0;
  v.ui.multi.clear();
  const key = stepKey(v.store.rows, v.selected, delta, v.ui);
  if (!(key && v.setSelected(key)) || hadMulti) selectionChanged(v, true);
}
