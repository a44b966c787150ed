// What each key (and its toolbar button) does, in one table keyed by the keymap's actions, and
// the DOM inputs beside the image (class list, new class, threshold). The keys are defined once
// in keymap.json; the help is generated from it.
import { CONTRACT } from "../editor/contract";
import { type KeyAction, lookup } from "./keymap";
import { moved } from "./pointerhost";
import { selectionChanged, step } from "./selection";
import { display, fitImage, painted, zoomCentre } from "./stage";
import { shown } from "./state";
import type { ReviewView } from "./widget";

/** Move `delta` images: at once from the images sent ahead, Python following. */
function go(v: ReviewView, delta: number): void {
  const target = v.position + delta;
  const entry = v.cache.at(target);
  if (entry && entry.decoded && target >= 0 && target < v.model.get("total")) {
    display(v, entry.meta, entry.bitmap, entry.rows, entry.selected);
    v.position = target;
    v.drawInfo();
    v.send.go(delta, entry.meta.sample_id); // Python need not send the image again
  } else {
    v.send.go(delta);
  }
}

function setThreshold(v: ReviewView, t: number): void {
  v.model.set("threshold", Math.min(1, Math.max(0, Math.round(t * 100) / 100)));
  v.model.save_changes();
}

function filtersChanged(v: ReviewView): void {
  const d = v.c.root.dataset;
  d.hideDecided = String(v.ui.hideDecided);
  d.onlyClass = v.ui.onlyClass ?? "";
  d.allLabels = String(v.ui.allLabels);
  const parts = [v.ui.hideDecided ? "decided hidden" : "",
    v.ui.onlyClass !== null ? `only ${v.ui.onlyClass}` : "",
    v.ui.allLabels ? "all labels" : ""].filter(Boolean);
  v.c.filters.textContent = parts.join(" · ");
  v.renderAll();
  painted(v);
}

function setDrawing(v: ReviewView, on: boolean): void {
  v.ui.drawing = on;
  v.c.root.classList.toggle("nblabel-drawing", on);
}

export function keyActions(v: ReviewView): Record<KeyAction, (index: number) => void> {
  const d = v.decisions;
  const threshold = () => v.model.get("threshold") || 0;
  return {
    next_box: () => step(v, 1),
    prev_box: () => step(v, -1),
    accept: () => v.masks.accept() || d.decide("accepted"),
    reject: () => d.decide("rejected"),
    accept_all: () => d.acceptAll(),
    relabel: (i) => d.relabel(v.classes()[i]),
    draw: () => setDrawing(v, !v.ui.drawing),
    select_shown: () => {
      v.ui.multi = new Set(v.store.rows.filter((r) => shown(r, v.ui)).map((r) => r.key));
      selectionChanged(v, false);
    },
    escape: () => {
      if (v.masks.escape()) return;
      v.c.root.classList.remove("nblabel-show-help");
      setDrawing(v, false);
      const drag = v.ui.drag;
      v.ui.drag = null;
      if (drag && drag.kind === "box") moved(v, drag.key, null);
      v.ui.multi.clear();
      selectionChanged(v, false);
    },
    next_image: () => go(v, 1),
    prev_image: () => go(v, -1),
    done: () => d.done(),
    undo: () => d.history("undo"),
    redo: () => d.history("redo"),
    hide_decided: () => {
      v.ui.hideDecided = !v.ui.hideDecided;
      filtersChanged(v);
    },
    only_class: () => {
      const row = v.store.get(v.selected);
      v.ui.onlyClass = v.ui.onlyClass === null && row ? row.label : null;
      filtersChanged(v);
    },
    labels: () => {
      v.ui.allLabels = !v.ui.allLabels;
      filtersChanged(v);
    },
    threshold_down: () => setThreshold(v, threshold() - 0.05),
    threshold_up: () => setThreshold(v, threshold() + 0.05),
    zoom_in: () => zoomCentre(v, CONTRACT.zoom.key_step),
    zoom_out: () => zoomCentre(v, 1 / CONTRACT.zoom.key_step),
    fit: () => fitImage(v),
    attributes: () => v.attrPanel.open(),
    actual_pixels: () => zoomCentre(v, 1 / v.view.scale),
    mode: () => {
      v.model.set("mode", v.model.get("mode") === "proposal" ? "image" : "proposal");
      v.model.save_changes();
    },
    classify: () => d.classify(null),
    image_class: (i) => {
      const pick = (v.model.get("image_label").top || [])[i];
      if (pick) d.classify(pick[0]);
    },
    segment: () => v.masks.setSegmenting(!v.masks.seg.on),
    brush: () => v.masks.setBrushing(!v.masks.brush.on),
    polygon: () => v.masks.setPolygon(!v.masks.poly.on),
    help: () => v.c.root.classList.toggle("nblabel-show-help"),
  };
}

/** Keys, focus, and the inputs beside the image. */
export function attachActions(v: ReviewView): void {
  const table = keyActions(v);
  v.act = (action, index) => table[action](index);
  const { c } = v;
  const root = c.root;
  // Keep every key typed in the widget away from the notebook, unbound ones too: JupyterLab's
  // notebook answers a bare Shift by focusing its active cell, which took the focus away from a
  // widget in any other cell between the Shift and the N of Shift+N. And keep the focus: a
  // click anywhere in the widget focuses it.
  root.addEventListener("keydown", (e) => {
    e.stopPropagation();
    const target = e.target as HTMLElement | null;
    // The class list and the new-class box take their own keys.
    if (target && (target.tagName === "SELECT" || target.tagName === "INPUT")) return;
    const hit = lookup(e);
    if (!hit) return;
    e.preventDefault();
    v.act(hit.action, hit.index);
  });
  root.addEventListener("keyup", (e) => e.stopPropagation());
  root.addEventListener("keypress", (e) => e.stopPropagation());
  root.setAttribute("data-lm-suppress-shortcuts", "true"); // JupyterLab/Notebook 7 key map
  for (const type of ["pointerdown", "mousedown", "click", "focusin"]) {
    root.addEventListener(type, (e) => {
      e.stopPropagation();
      const tag = (e.target as HTMLElement | null)?.tagName;
      if (type !== "focusin" && tag !== "SELECT" && tag !== "INPUT" && tag !== "OPTION") {
        root.focus({ preventScroll: true });
      }
    });
  }
  c.classSelect.addEventListener("change", () => {
    // While drawing, the list sets the class of the next box; otherwise it relabels.
    if (v.ui.drawing) v.drawClass = c.classSelect.value;
    else v.decisions.relabel(c.classSelect.value);
    root.focus({ preventScroll: true });
  });
  c.threshold.addEventListener("input", () => {
    c.thresholdText.textContent = `≥ ${Number(c.threshold.value).toFixed(2)}`;
  });
  c.threshold.addEventListener("change", () => {
    setThreshold(v, Number(c.threshold.value));
    root.focus({ preventScroll: true });
  });
  c.newClass.addEventListener("keydown", (e) => {
    e.stopPropagation();
    if (e.key === "Escape") {
      c.newClass.value = "";
      root.focus({ preventScroll: true });
    }
    if (e.key !== "Enter") return;
    e.preventDefault();
    const name = c.newClass.value.trim();
    c.newClass.value = "";
    root.focus({ preventScroll: true });
    if (!name) return;
    v.pendingClass = name;
    v.decisions.addClass(name);
  });
}
