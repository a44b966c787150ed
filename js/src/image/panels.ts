// The text around the image, drawn from what Python decided: the image-class panel, the info
// line (progress, the selected box, what to do on an empty image), notices and the sync status.
import type { Chrome } from "./chrome";
import { el } from "../editor/dom";
import type { ImageMeta, ModelTraits, Row } from "./types";
import type { AnyModel } from "@anywidget/types";

/** The image-level class chips (Alt+1 … 9) and the class decision's state. */
export function drawClassPanel(c: Chrome, meta: ImageMeta, classify: (label: string) => void
): void {
  const panel = c.classPanel;
  const il = meta.image_label || {};
  panel.replaceChildren();
  panel.style.display = il.status ? "" : "none";
  if (!il.status) return;
  panel.dataset.status = il.status;
  panel.appendChild(el("span", "nblabel-label", "image class:"));
  (il.top || []).forEach(([label, score], i) => {
    const chosen = il.final === label && il.status !== "rejected";
    const chip = el("button", `nblabel-btn nblabel-class-chip${chosen ? " nblabel-chosen" : ""}`,
      `${i + 1}. ${label}` + (score === null ? "" : ` ${(score * 100).toFixed(0)}%`));
    chip.type = "button";
    chip.tabIndex = -1;
    chip.title = `choose ${label} (Alt+${i + 1})`;
    chip.dataset.label = label;
    chip.addEventListener("click", (e) => {
      e.preventDefault();
      classify(label);
    });
    panel.appendChild(chip);
  });
  const state = il.status === "pending" ? "pending (c accepts)" :
    `${il.status}${il.final ? `: ${il.final}` : ""}`;
  panel.appendChild(el("span", "nblabel-classification-status", state));
}

export interface InfoState {
  position: number;
  rows: readonly Row[];
  selectedIndex: number;
  counts: { pending: number; hidden: number; sending: number; decided: number };
  multi: number;
  drawing: boolean;
  drawClass: string | null;
}

/** Progress, the selected box's line, the class list and the threshold. */
export function drawInfo(c: Chrome, m: AnyModel<ModelTraits>, s: InfoState): void {
  const total = m.get("total");
  c.progress.textContent =
    `${m.get("reviewed")} of ${total} reviewed · image ${total ? s.position + 1 : 0}/${total}`;
  const row = s.rows[s.selectedIndex];
  const { pending, hidden, sending } = s.counts;
  c.info.textContent = row
    ? (s.multi > 1 ? `${s.multi} boxes selected · ` : "") +
      `box ${s.selectedIndex + 1}/${s.rows.length}: ${row.label}` +
      (row.confidence === null ? "" : ` (${row.confidence.toFixed(2)})`) +
      ` · ${row.status}${row.sending ? " (saving…)" : ""} · ${pending} pending` +
      (hidden ? ` · ${hidden} below threshold` : "") +
      (sending ? ` · ${sending} on the way` : "") +
      (row.unusable ? ` · unusable: ${row.unusable} (r rejects it)` : "")
    : s.rows.length === 0 && !m.get("image_error")
      ? "no boxes on this image: b draws one · → skips it (stays unreviewed) · "
        + "Shift+N: nothing here (done, no objects)"
      : "";
  c.message.textContent = m.get("message");
  const cls = m.get("classes") || [];
  const sel = c.classSelect;
  if (sel.options.length !== cls.length || [...sel.options].some((o, k) => o.value !== cls[k])) {
    sel.replaceChildren(...cls.map((name, k) => {
      const o = el("option", "", `${k + 1}: ${name}`);
      o.value = name;
      return o;
    }));
  }
  if (s.drawing) {
    if (s.drawClass && cls.includes(s.drawClass)) sel.value = s.drawClass;
  } else if (row) {
    sel.value = row.label;
  }
  const t = m.get("threshold") || 0;
  c.threshold.value = String(t);
  c.thresholdText.textContent = `≥ ${t.toFixed(2)}`;
  c.root.dataset.mode = m.get("mode");
}

/** Lasting news (a new model round, the assistant stepping back). */
export function drawNotice(c: Chrome, m: AnyModel<ModelTraits>): void {
  const n = c.notice;
  n.textContent = m.get("notice") || "";
  n.style.display = n.textContent ? "" : "none";
}

/** Where the sync to FiftyOne stands. */
export function drawSyncStatus(c: Chrome, m: AnyModel<ModelTraits>): void {
  const st = m.get("sync_status") || {};
  const s = c.syncStatus;
  s.dataset.state = st.state || "synced";
  s.dataset.waiting = String(st.waiting || 0);
  s.textContent = st.message || "";
  s.style.display = s.textContent ? "" : "none";
}

/** Each source of help that is not shown, and why (Python measured it; the browser says it). */
export function drawSources(c: Chrome, m: AnyModel<ModelTraits>): void {
  const all = m.get("help_status") || {};
  const box = c.sources;
  box.replaceChildren();
  for (const [source, worth] of Object.entries(all)) {
    const state = worth.state || "unmeasured";
    if (state === "helping") continue;
    const item = document.createElement("div");
    item.className = "nblabel-source";
    item.dataset.source = source;
    item.dataset.state = state;
    item.textContent = worth.reason || `${source}: ${state}`;
    box.appendChild(item);
  }
  box.style.display = box.childElementCount ? "" : "none";
}

/** Counts of the rows on screen (computed when they change, not per frame). */
export function countRows(rows: readonly Row[]): InfoState["counts"] {
  let pending = 0;
  let hidden = 0;
  let sending = 0;
  let decided = 0;
  for (const r of rows) {
    if (r.sending) sending++;
    else if (r.status !== "pending") decided++;
    if (!r.visible) hidden++;
    else if (r.status === "pending") pending++;
  }
  return { pending, hidden, sending, decided };
}
