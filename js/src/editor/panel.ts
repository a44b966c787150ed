// What the video, shapes and volume widgets share around their canvas: a focusable root that
// keeps every key and click to itself, and the keys' help (styles: js/panel.css).
import { el } from "./dom";

/** The widget's root: focusable, with JupyterLab's shortcuts off inside it. */
export function panelRoot(kind: string): HTMLDivElement {
  const root = el("div", `nblabel-root nblabel-panel nblabel-${kind}`);
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  return root;
}

/** The help overlay (hidden until `?`): one row per key or gesture. */
export function helpPanel(rows: [string, string][]): HTMLDivElement {
  const help = el("div", "nblabel-help");
  help.hidden = true;
  for (const [k, what] of rows) {
    const row = el("div", "nblabel-help-row");
    row.append(el("kbd", "", k), el("span", "", what));
    help.appendChild(row);
  }
  return help;
}

/** Keys typed and clicks made in `root` stay in the widget (JupyterLab would act on them
 *  too; see ../actions.ts); a key `onKey` handles has its default prevented, a press focuses
 *  the widget, and the context menu is off (a right-button drag may mean something). */
export function keepInput(root: HTMLElement, onKey: (e: KeyboardEvent) => boolean): void {
  root.addEventListener("keydown", (e) => {
    e.stopPropagation();
    if (!typing(e.target) && onKey(e)) e.preventDefault();
  });
  for (const t of ["keyup", "keypress", "pointerdown", "mousedown", "click", "contextmenu"]) {
    root.addEventListener(t, (e) => {
      e.stopPropagation();
      if (t === "contextmenu") e.preventDefault();
      if (t === "pointerdown" && !typing(e.target)) root.focus({ preventScroll: true });
    });
  }
}

/** Whether keys go to a field (the class list, a typed class, an attribute), not the widget. */
export function typing(target: EventTarget | null): boolean {
  if (target instanceof HTMLInputElement) return target.type !== "range"; // a slider steps

  return target instanceof HTMLElement
    && (target.tagName === "SELECT" || target.tagName === "TEXTAREA");
}
