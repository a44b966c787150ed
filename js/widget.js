// nblabel review widget: the image with proposals overlaid, driven mostly from the keyboard.
//
// State comes from the Python model (traitlets); this file only renders it and sends decisions
// and navigation back as custom messages. Class and file names are always set as text
// (textContent), never parsed as HTML. Stable CSS class names (nblabel-*) are the test selectors.
import "./widget.css";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = [
  "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
  "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075",
];

/** Colour for a class: by its index in the class list, stable across images. */
export function classColour(classes, label) {
  let i = classes.indexOf(label);
  if (i < 0) {
    i = 0;
    for (const ch of label) i = (i * 31 + ch.charCodeAt(0)) >>> 0;
  }
  return PALETTE[i % PALETTE.length];
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

function button(className, text, title, onClick) {
  const b = el("button", `nblabel-btn ${className}`, text);
  b.type = "button";
  b.title = title;
  b.addEventListener("click", (e) => {
    e.preventDefault();
    onClick();
  });
  return b;
}

const HELP = [
  ["Tab / j / ↓", "next proposal"],
  ["Shift+Tab / k / ↑", "previous proposal"],
  ["a / Enter", "accept"],
  ["r / x / Delete", "reject"],
  ["→ / d / n", "next image"],
  ["← / p", "previous image"],
];

function render({ model, el: host }) {
  const root = el("div", "nblabel-root");
  root.tabIndex = 0;
  host.appendChild(root);

  const toolbar = el("div", "nblabel-toolbar");
  const progress = el("span", "nblabel-progress");
  const filename = el("span", "nblabel-filename");
  const stage = el("div", "nblabel-stage");
  const frame = el("div", "nblabel-frame");
  const img = el("img", "nblabel-image");
  img.alt = "";
  img.draggable = false;
  const overlay = svgEl("svg", { class: "nblabel-overlay", preserveAspectRatio: "none" });
  const errorBox = el("div", "nblabel-error");
  const info = el("div", "nblabel-info");
  const message = el("div", "nblabel-message");
  const help = el("div", "nblabel-help");
  for (const [k, v] of HELP) {
    const row = el("div", "nblabel-help-row");
    row.append(el("kbd", "", k), el("span", "", v));
    help.appendChild(row);
  }

  const state = { shownAt: performance.now(), objectUrl: null, sampleId: null };

  const send = (content) => model.send(content);
  const proposals = () => model.get("proposals") || [];
  const selected = () => model.get("selected");

  function select(i) {
    const n = proposals().length;
    if (n === 0) return;
    model.set("selected", ((i % n) + n) % n);
    model.save_changes();
  }

  function nextPending(from) {
    const rows = proposals();
    for (let k = 1; k <= rows.length; k++) {
      const i = (from + k) % rows.length;
      if (rows[i].status === "pending") return i;
    }
    return Math.min(from + 1, rows.length - 1);
  }

  function decide(action) {
    const rows = proposals();
    const i = selected();
    if (!rows[i]) return;
    send({
      kind: "decide",
      sample_id: model.get("sample_id"),
      proposal_id: rows[i].id,
      action,
      seconds: (performance.now() - state.shownAt) / 1000,
    });
    root.dataset.saving = "true";
    select(nextPending(i));
  }

  const go = (delta) => send({ kind: "go", delta });

  toolbar.append(
    button("nblabel-prev-image", "◀ image", "previous image (← / p)", () => go(-1)),
    button("nblabel-prev", "‹", "previous proposal (Shift+Tab / k)", () => select(selected() - 1)),
    button("nblabel-accept", "✓ accept", "accept (a / Enter)", () => decide("accepted")),
    button("nblabel-reject", "✗ reject", "reject (r / x / Delete)", () => decide("rejected")),
    button("nblabel-next", "›", "next proposal (Tab / j)", () => select(selected() + 1)),
    button("nblabel-next-image", "image ▶", "next image (→ / d / n)", () => go(1)),
    progress,
    filename,
  );
  frame.append(img, overlay);
  stage.append(frame, errorBox);
  root.append(toolbar, stage, info, message, help);

  const KEYS = {
    Tab: (e) => select(selected() + (e.shiftKey ? -1 : 1)),
    j: () => select(selected() + 1),
    ArrowDown: () => select(selected() + 1),
    k: () => select(selected() - 1),
    ArrowUp: () => select(selected() - 1),
    a: () => decide("accepted"),
    Enter: () => decide("accepted"),
    r: () => decide("rejected"),
    x: () => decide("rejected"),
    Delete: () => decide("rejected"),
    Backspace: () => decide("rejected"),
    ArrowRight: () => go(1),
    d: () => go(1),
    n: () => go(1),
    ArrowLeft: () => go(-1),
    p: () => go(-1),
    "?": () => root.classList.toggle("nblabel-show-help"),
    Escape: () => root.classList.remove("nblabel-show-help"),
  };

  root.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const action = KEYS[e.key];
    if (!action) return;
    e.preventDefault();
    e.stopPropagation();
    action(e);
  });
  // Keep every key typed in the widget away from the notebook's shortcuts.
  root.addEventListener("keyup", (e) => e.stopPropagation());
  root.addEventListener("keypress", (e) => e.stopPropagation());
  root.addEventListener("mousedown", () => root.focus({ preventScroll: true }));

  function drawImage() {
    const data = model.get("image");
    const err = model.get("image_error");
    if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
    state.objectUrl = null;
    root.classList.toggle("nblabel-has-error", Boolean(err));
    errorBox.textContent = err ? `Cannot show this image: ${err}` : "";
    if (data && data.byteLength > 0 && !err) {
      const blob = new Blob([data], { type: model.get("image_mime") || "image/jpeg" });
      state.objectUrl = URL.createObjectURL(blob);
      img.src = state.objectUrl;
      frame.style.display = "";
    } else {
      img.removeAttribute("src");
      frame.style.display = "none";
    }
    const w = model.get("image_width") || 1;
    const h = model.get("image_height") || 1;
    overlay.setAttribute("viewBox", `0 0 ${w} ${h}`);
    // Fit the frame in the cell and the window, keeping the aspect ratio (small images are
    // shown at up to 640 px wide); the overlay's viewBox keeps coordinates in image pixels.
    frame.style.aspectRatio = `${w} / ${h}`;
    frame.style.width = `min(100%, ${Math.max(w, 640)}px, calc(75vh * ${w / h}))`;
    state.shownAt = performance.now();
  }

  function drawOverlay() {
    const rows = proposals();
    const classes = model.get("classes") || [];
    const w = model.get("image_width") || 1;
    const sel = selected();
    // One display pixel in image units, so strokes and text keep their on-screen size.
    const px = w / Math.max(frame.clientWidth || w, 1);
    overlay.replaceChildren();
    rows.forEach((row, i) => {
      const [x, y, bw, bh] = row.box;
      const colour = classColour(classes, row.label);
      const g = svgEl("g", {
        class: `nblabel-box nblabel-status-${row.status}${i === sel ? " nblabel-selected" : ""}`,
        "data-id": row.id,
        "data-index": i,
        "data-status": row.status,
      });
      const rect = svgEl("rect", {
        x, y, width: bw, height: bh, fill: colour, stroke: colour,
        "stroke-width": (i === sel ? 3 : 1.5) * px,
      });
      const conf = row.confidence == null ? "" : ` ${(row.confidence * 100).toFixed(0)}%`;
      const mark = row.status === "accepted" ? " ✓" : row.status === "rejected" ? " ✗" : "";
      const fontSize = 12 * px;
      const text = svgEl("text", { x: x + 2 * px, y: Math.max(y - 3 * px, fontSize),
        "font-size": fontSize, fill: colour, class: "nblabel-box-label" });
      text.textContent = `${row.label}${conf}${mark}`;
      g.append(rect, text);
      g.addEventListener("mousedown", (e) => {
        e.stopPropagation();
        root.focus({ preventScroll: true });
        select(i);
      });
      overlay.appendChild(g);
    });
    // Draw the selected box last so it is on top.
    const top = overlay.querySelector(".nblabel-selected");
    if (top) overlay.appendChild(top);
  }

  function drawInfo() {
    const pos = model.get("position");
    const total = model.get("total");
    progress.textContent = `${model.get("reviewed")} of ${total} reviewed · image ${total ? pos + 1 : 0}/${total}`;
    filename.textContent = model.get("filename");
    const rows = proposals();
    const row = rows[selected()];
    const pending = rows.filter((r) => r.status === "pending").length;
    info.textContent = row
      ? `proposal ${selected() + 1}/${rows.length}: ${row.label}` +
        (row.confidence == null ? "" : ` (${row.confidence.toFixed(2)})`) +
        ` · ${row.status} · ${pending} pending`
      : rows.length === 0 && !model.get("image_error")
        ? "no proposals on this image: press → to go on"
        : "";
    message.textContent = model.get("message");
    root.dataset.sampleId = model.get("sample_id");
  }

  const redraw = () => {
    drawOverlay();
    drawInfo();
  };

  const onImage = () => {
    drawImage();
    redraw();
  };
  const onProposals = () => {
    delete root.dataset.saving;
    redraw();
  };
  model.on("change:image", onImage);
  model.on("change:image_error", onImage);
  model.on("change:proposals", onProposals);
  for (const name of ["selected", "classes", "position", "total", "reviewed", "message", "filename"]) {
    model.on(`change:${name}`, redraw);
  }
  const resize = new ResizeObserver(() => drawOverlay());
  resize.observe(frame);
  drawImage();
  redraw();
  root.dataset.ready = "true";

  return () => {
    resize.disconnect();
    if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
  };
}

export default { render };
