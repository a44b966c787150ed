// The widget's DOM around the image: toolbars, class panel, info line, messages, sync status,
// help (generated from the keymap). Built once; the controller fills in text.
import { button, el } from "../editor/dom";
import { type KeyAction, helpRows, titleOf } from "./keymap";

export interface Chrome {
  root: HTMLDivElement;
  stage: HTMLDivElement;
  world: HTMLDivElement;
  image: HTMLCanvasElement;
  side: HTMLDivElement;
  progress: HTMLSpanElement;
  filename: HTMLSpanElement;
  zoomText: HTMLSpanElement;
  classSelect: HTMLSelectElement;
  newClass: HTMLInputElement;
  threshold: HTMLInputElement;
  thresholdText: HTMLSpanElement;
  errorBox: HTMLDivElement;
  classPanel: HTMLDivElement;
  info: HTMLDivElement;
  message: HTMLDivElement;
  notice: HTMLDivElement;
  syncStatus: HTMLDivElement;
  sources: HTMLDivElement;
  help: HTMLDivElement;
  filters: HTMLSpanElement;
}

/** Build the DOM; `act` runs a keymap action (buttons and keys do the same thing). */
export function buildChrome(host: HTMLElement, act: (a: KeyAction) => void): Chrome {
  const root = el("div", "nblabel-root");
  root.tabIndex = 0;
  host.appendChild(root);
  const b = (cls: string, text: string, action: KeyAction) =>
    button(cls, text, titleOf(action), () => act(action));
  const classSelect = el("select", "nblabel-class-select");
  classSelect.title = titleOf("relabel");
  classSelect.tabIndex = -1;
  const newClass = el("input", "nblabel-new-class");
  newClass.type = "text";
  newClass.placeholder = "+ class";
  newClass.title = "type a new class and press Enter";
  newClass.size = 8;
  const threshold = el("input", "nblabel-threshold");
  threshold.type = "range";
  threshold.min = "0";
  threshold.max = "1";
  threshold.step = "0.01";
  threshold.tabIndex = -1;
  threshold.title = "confidence threshold ([ and ])";
  const c: Chrome = {
    root,
    stage: el("div", "nblabel-stage"),
    world: el("div", "nblabel-world"),
    image: el("canvas", "nblabel-image"),
    side: el("div", "nblabel-side"),
    progress: el("span", "nblabel-progress"),
    filename: el("span", "nblabel-filename"),
    zoomText: el("span", "nblabel-zoom"),
    classSelect,
    newClass,
    threshold,
    thresholdText: el("span", "nblabel-threshold-value"),
    errorBox: el("div", "nblabel-error"),
    classPanel: el("div", "nblabel-classification"),
    info: el("div", "nblabel-info"),
    message: el("div", "nblabel-message"),
    notice: el("div", "nblabel-notice"),
    syncStatus: el("div", "nblabel-sync-status"),
    sources: el("div", "nblabel-sources"),
    help: el("div", "nblabel-help"),
    filters: el("span", "nblabel-filters"),
  };
  const toolbar = el("div", "nblabel-toolbar");
  toolbar.append(
    b("nblabel-prev-image", "◀", "prev_image"),
    b("nblabel-next-image", "▶", "next_image"),
    b("nblabel-accept", "✓ accept", "accept"),
    b("nblabel-reject", "✗ reject", "reject"),
    b("nblabel-accept-all", "✓✓ all", "accept_all"),
    b("nblabel-draw", "▭ draw", "draw"),
    classSelect,
    newClass,
    b("nblabel-undo", "↶", "undo"),
    b("nblabel-redo", "↷", "redo"),
    c.progress,
    c.filename,
  );
  const toolbar2 = el("div", "nblabel-toolbar nblabel-toolbar-view");
  toolbar2.append(
    el("span", "nblabel-label", "threshold"),
    threshold,
    c.thresholdText,
    b("nblabel-zoom-out", "−", "zoom_out"),
    c.zoomText,
    b("nblabel-zoom-in", "+", "zoom_in"),
    b("nblabel-fit", "fit", "fit"),
    b("nblabel-one-to-one", "1:1", "actual_pixels"),
    b("nblabel-mode", "mode", "mode"),
    b("nblabel-hide-decided", "hide decided", "hide_decided"),
    b("nblabel-only-class", "one class", "only_class"),
    b("nblabel-labels", "labels", "labels"),
    c.filters,
    b("nblabel-help-button", "?", "help"),
  );
  c.help.append(el("div", "nblabel-help-title", "Keys"));
  for (const [keys, what] of helpRows()) {
    const row = el("div", "nblabel-help-row");
    row.append(el("kbd", "", keys), el("span", "", what));
    c.help.appendChild(row);
  }
  c.world.append(c.image);
  c.stage.append(c.world, c.errorBox);
  const body = el("div", "nblabel-body");
  body.append(c.stage, c.side);
  root.append(toolbar, toolbar2, c.classPanel, body, c.info, c.message, c.notice, c.syncStatus,
    c.sources, c.help);
  return c;
}
