// nblabel review widget: the image with its boxes, edited in the browser, decided from the keys.
//
// State comes from the Python model (traitlets). Drag, resize, zoom and pan stay here; only
// decisions and navigation go to Python, as custom messages. Images for the next positions
// arrive ahead of time as binary messages and are decoded in advance, so moving on does not wait
// for the kernel. Class and file names are always set as text (textContent), never as HTML.
// Stable CSS class names (nblabel-*) are what tests select on.
import "./widget.css";
import {
  HANDLES, boxFromCorners, clipBox, createView, fit, fitRegion, handlePoint, resizeBox,
  toImage, zoomAt,
} from "./view.js";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = [
  "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
  "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075",
];
const CACHE_SIZE = 12;

/** Colour for a class: by its index in the class list, stable across images. */
export function classColour(classes, label) {
  let i = classes.indexOf(label);
  if (i < 0) {
    i = 0;
    for (const ch of String(label)) i = (i * 31 + ch.charCodeAt(0)) >>> 0;
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
  b.tabIndex = -1;
  b.addEventListener("click", (e) => {
    e.preventDefault();
    onClick();
  });
  return b;
}

function render({ model, el: host }) {
  // ---- DOM -------------------------------------------------------------------------------
  const root = el("div", "nblabel-root");
  root.tabIndex = 0;
  host.appendChild(root);
  const toolbar = el("div", "nblabel-toolbar");
  const toolbar2 = el("div", "nblabel-toolbar nblabel-toolbar-view");
  const progress = el("span", "nblabel-progress");
  const filename = el("span", "nblabel-filename");
  const zoomText = el("span", "nblabel-zoom");
  const classSelect = el("select", "nblabel-class-select");
  classSelect.title = "class of the selected box (keys 1-9)";
  classSelect.tabIndex = -1;
  const threshold = el("input", "nblabel-threshold");
  threshold.type = "range";
  threshold.min = "0";
  threshold.max = "1";
  threshold.step = "0.01";
  threshold.tabIndex = -1;
  threshold.title = "confidence threshold ([ and ])";
  const thresholdText = el("span", "nblabel-threshold-value");
  const stage = el("div", "nblabel-stage");
  const world = el("div", "nblabel-world");
  // The image is drawn from a decoded ImageBitmap into a canvas: images that arrived ahead of
  // time are decoded off the main thread, so showing one is a single drawImage.
  const canvas = el("canvas", "nblabel-image");
  const ctx = canvas.getContext("2d");
  const overlay = svgEl("svg", { class: "nblabel-overlay", preserveAspectRatio: "none" });
  world.append(canvas, overlay);
  const errorBox = el("div", "nblabel-error");
  stage.append(world, errorBox);
  const classPanel = el("div", "nblabel-classification");
  const info = el("div", "nblabel-info");
  const message = el("div", "nblabel-message");
  const notice = el("div", "nblabel-notice");
  const help = el("div", "nblabel-help");

  // ---- local state -----------------------------------------------------------------------
  const view = createView();
  const local = {
    sampleId: null, // what is displayed (may be ahead of Python after a local swap)
    position: model.get("position"),
    width: 0,
    height: 0,
    boxes: [],
    shownAt: performance.now(),
    fullRes: false,
    fullResAsked: false,
    drawing: false,
    drag: null,
    imageLabel: {},
    fitted: false,
  };
  const cache = new Map(); // sample_id -> {position, url, meta, boxes, decoded}
  const byPosition = new Map(); // position -> sample_id

  const send = (content) => model.send(content);
  const classes = () => model.get("classes") || [];
  const thresholdValue = () => model.get("threshold") || 0;
  const visible = (row) => row.confidence == null || row.confidence >= thresholdValue();
  const selectedIndex = () => local.boxes.findIndex((b) => b.key === model.get("selected"));
  const selectedRow = () => local.boxes[selectedIndex()];
  const seconds = () => (performance.now() - local.shownAt) / 1000;

  function setSelected(key) {
    if (key === model.get("selected")) return;
    model.set("selected", key || "");
    model.save_changes();
  }

  /** Move the selection by `step` among visible boxes. */
  function step(delta) {
    const rows = local.boxes.filter(visible);
    if (!rows.length) return;
    const i = rows.findIndex((b) => b.key === model.get("selected"));
    const next = rows[(((i < 0 ? 0 : i + delta) % rows.length) + rows.length) % rows.length];
    setSelected(next.key);
  }

  function nextPendingAfter(key) {
    const rows = local.boxes;
    const start = rows.findIndex((b) => b.key === key);
    for (let k = 1; k <= rows.length; k++) {
      const row = rows[(start + k) % rows.length];
      if (row.status === "pending" && visible(row)) return row.key;
    }
    return key;
  }

  // ---- decisions -------------------------------------------------------------------------
  function decide(action, extra) {
    const row = selectedRow();
    if (!row) return;
    send({ kind: "decide", sample_id: local.sampleId, key: row.key, action,
      seconds: seconds(), ...(extra || {}) });
    root.dataset.saving = "true";
    if (action !== "edited") setSelected(nextPendingAfter(row.key));
  }

  function relabel(label) {
    const row = selectedRow();
    if (!row || !label || label === row.label) return;
    row.label = label; // shown at once; Python's answer confirms it
    drawOverlay();
    decide("edited", { label });
  }

  // ---- the image's class (classification proposals) --------------------------------------
  function imageLabel() {
    return local.imageLabel || {};
  }

  function classify(label) {
    const il = imageLabel();
    if (!il.status) return;
    const action = !label || label === il.label ? "accepted" : "edited";
    send({ kind: "classify", sample_id: local.sampleId, action, label: label || il.label,
      seconds: seconds() });
    root.dataset.saving = "true";
  }

  function drawClassPanel() {
    const il = imageLabel();
    classPanel.replaceChildren();
    classPanel.style.display = il.status ? "" : "none";
    if (!il.status) return;
    classPanel.dataset.status = il.status;
    classPanel.appendChild(el("span", "nblabel-label", "image class:"));
    (il.top || []).forEach(([label, score], i) => {
      const chosen = il.final === label && il.status !== "rejected";
      const chip = button(`nblabel-class-chip${chosen ? " nblabel-chosen" : ""}`,
        `${i + 1}. ${label} ${(score * 100).toFixed(0)}%`,
        `choose ${label} (Alt+${i + 1})`, () => classify(label));
      chip.dataset.label = label;
      classPanel.appendChild(chip);
    });
    const state = il.status === "pending" ? "pending (c accepts)" :
      `${il.status}${il.final ? `: ${il.final}` : ""}`;
    classPanel.appendChild(el("span", "nblabel-classification-status", state));
  }

  function acceptAll() {
    send({ kind: "accept_all", sample_id: local.sampleId, seconds: seconds(),
      threshold: thresholdValue() });
    root.dataset.saving = "true";
  }

  // ---- navigation ------------------------------------------------------------------------
  function go(delta) {
    const target = local.position + delta;
    const sid = byPosition.get(target);
    const entry = sid && cache.get(sid);
    if (entry && entry.decoded && target >= 0 && target < model.get("total")) {
      display(entry.meta, entry.bitmap, entry.boxes); // instant: no round trip to the kernel
      local.position = target;
      drawInfo();
      send({ kind: "go", delta, have: sid }); // Python need not send the image again
    } else {
      send({ kind: "go", delta });
    }
  }

  // ---- image display ---------------------------------------------------------------------
  /** Decode image bytes off the main thread (null for no bytes or bytes that do not decode). */
  function decode(data, mime) {
    if (!data || data.byteLength === 0) return Promise.resolve(null);
    return createImageBitmap(new Blob([data], { type: mime || "image/jpeg" })).catch(() => null);
  }

  function drawBitmap(bitmap) {
    if (!bitmap) {
      canvas.width = 0;
      canvas.height = 0;
      return;
    }
    if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
    }
    ctx.drawImage(bitmap, 0, 0);
  }

  /** Show an image: `image` is an ImageBitmap, a promise of one, or null. */
  function display(meta, image, boxes) {
    const sameImage = meta.sample_id === local.sampleId;
    local.sampleId = meta.sample_id;
    local.width = meta.image_width || 0;
    local.height = meta.image_height || 0;
    local.boxes = boxes.map((b) => ({ ...b }));
    local.imageLabel = meta.image_label || {};
    drawClassPanel();
    root.dataset.sampleId = meta.sample_id;
    filename.textContent = meta.filename || "";
    const err = meta.image_error;
    root.classList.toggle("nblabel-has-error", Boolean(err));
    errorBox.textContent = err ? `Cannot show this image: ${err}` : "";
    if (!sameImage) {
      local.shownAt = performance.now();
      local.fullRes = !meta.image_preview;
      local.fullResAsked = false;
      local.drawing = false;
      local.drag = null;
      root.classList.remove("nblabel-drawing");
      world.style.display = meta.image_error ? "none" : "";
      const sid = meta.sample_id;
      if (image instanceof Promise) {
        drawBitmap(null);
        image.then((bitmap) => {
          if (sid !== local.sampleId) return;
          drawBitmap(bitmap);
          painted();
        });
      } else {
        drawBitmap(image);
      }
      world.style.width = `${local.width}px`;
      world.style.height = `${local.height}px`;
      overlay.setAttribute("viewBox", `0 0 ${local.width || 1} ${local.height || 1}`);
      local.fitted = false;
      // After a local swap Python's selection still names a box of the previous image.
      if (!local.boxes.some((b) => b.key === model.get("selected"))) {
        const first = local.boxes.find((b) => b.status === "pending" && visible(b)) ||
          local.boxes[0];
        setSelected(first ? first.key : "");
      }
      layout(); // fits the view and draws the overlay
    } else {
      drawOverlay();
    }
    if (!(image instanceof Promise) || sameImage) painted();
  }

  // Tell tests and benchmarks when an image and its boxes are on screen: the next animation
  // frame renders them, and a task posted from that frame runs once it has been drawn.
  function painted() {
    const sid = local.sampleId;
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        if (sid !== local.sampleId) return;
        root.dataset.paintedSample = sid || "";
        root.dispatchEvent(new CustomEvent("nblabel:painted",
          { detail: { sampleId: sid, t: performance.now() } }));
      };
      channel.port2.postMessage(0);
    });
  }

  function stageSize() {
    const W = stage.clientWidth || 640;
    const H = stage.clientHeight || 480;
    return [W, H];
  }

  function layout() {
    // Stage height: the image fitted to the cell width, at most 72% of the window.
    const W = stage.clientWidth || 640;
    const aspect = local.width && local.height ? local.height / local.width : 0.75;
    const H = Math.max(200, Math.min(window.innerHeight * 0.72, W * aspect, Math.max(local.height, 480)));
    stage.style.height = `${Math.round(H)}px`;
    if (!local.fitted) {
      if (model.get("mode") === "proposal" && selectedRow()) focusSelected();
      else fit(view, local.width || 1, local.height || 1, W, Math.round(H));
      local.fitted = true;
    }
    applyView();
  }

  function applyView() {
    world.style.transform = `translate(${view.tx}px, ${view.ty}px) scale(${view.scale})`;
    zoomText.textContent = `${Math.round(view.scale * 100)}%`;
    root.dataset.scale = String(view.scale);
    if (!local.fullRes && !local.fullResAsked && canvas.width && local.width) {
      const previewScale = canvas.width / local.width;
      if (view.scale > previewScale * 1.2) {
        local.fullResAsked = true;
        send({ kind: "full_res", sample_id: local.sampleId });
      }
    }
    drawOverlay();
  }

  function focusSelected() {
    const row = selectedRow();
    if (!row) return;
    const [x, y, w, h] = row.box;
    const cw = Math.max(w * 3, 96);
    const ch = Math.max(h * 3, 96);
    const [W, H] = stageSize();
    fitRegion(view, [x + w / 2 - cw / 2, y + h / 2 - ch / 2, cw, ch], W, H, 8);
  }

  // ---- overlay ---------------------------------------------------------------------------
  function drawOverlay() {
    const cls = classes();
    const sel = model.get("selected");
    const px = 1 / view.scale; // one screen pixel, in image pixels
    overlay.replaceChildren();
    /** @type {Element | null} */
    let selectedGroup = null;
    // Reference boxes (truth the model missed, from evaluation patches): drawn, not decidable.
    for (const ref of model.get("reference") || []) {
      const [x, y, bw, bh] = ref.box;
      const colour = classColour(cls, ref.label);
      const g = svgEl("g", { class: `nblabel-reference nblabel-reference-${ref.kind}`,
        "data-label": ref.label });
      const fontSize = 12 * px;
      const text = svgEl("text", { x: x + 2 * px, y: y + bh + fontSize,
        "font-size": fontSize, fill: colour, class: "nblabel-box-label" });
      text.textContent = `${ref.label} (${ref.kind})`;
      g.append(svgEl("rect", { x, y, width: bw, height: bh, fill: "none", stroke: colour,
        "stroke-width": 2, "vector-effect": "non-scaling-stroke" }), text);
      overlay.appendChild(g);
    }
    local.boxes.forEach((row, i) => {
      const [x, y, bw, bh] = row.box;
      const colour = classColour(cls, row.label);
      const isSel = row.key === sel;
      const g = svgEl("g", {
        class: `nblabel-box nblabel-status-${row.status}${isSel ? " nblabel-selected" : ""}` +
          `${visible(row) ? "" : " nblabel-below"}${row.focus ? " nblabel-focus" : ""}`,
        "data-key": row.key,
        "data-index": i,
        "data-status": row.status,
        "data-label": row.label,
      });
      if (row.original_box && row.status === "edited") {
        const [ox, oy, ow, oh] = row.original_box;
        g.appendChild(svgEl("rect", { x: ox, y: oy, width: ow, height: oh, fill: "none",
          stroke: colour, class: "nblabel-original", "vector-effect": "non-scaling-stroke" }));
      }
      if (row.mask && row.status !== "rejected") g.appendChild(maskShape(row, colour, i));
      const rect = svgEl("rect", { x, y, width: bw, height: bh, fill: colour, stroke: colour,
        "stroke-width": isSel ? 3 : 1.5, "vector-effect": "non-scaling-stroke",
        class: "nblabel-box-rect" });
      const conf = row.confidence == null ? "" : ` ${(row.confidence * 100).toFixed(0)}%`;
      const mark = { accepted: " ✓", rejected: " ✗", edited: " ✎", added: " +" }[row.status] || "";
      const fontSize = 12 * px;
      const text = svgEl("text", { x: x + 2 * px, y: Math.max(y - 3 * px, fontSize),
        "font-size": fontSize, fill: colour, class: "nblabel-box-label" });
      text.textContent = `${row.label}${conf}${mark}`;
      g.append(rect, text);
      g.addEventListener("mousedown", (e) => startBoxDrag(e, row, "move"));
      if (isSel) selectedGroup = g;
      overlay.appendChild(g);
    });
    if (selectedGroup) {
      overlay.appendChild(selectedGroup); // on top
      const row = selectedRow();
      if (row && row.status !== "rejected") {
        for (const h of HANDLES) {
          const [hx, hy] = handlePoint(row.box, h);
          const size = 8 * px;
          const handle = svgEl("rect", { x: hx - size / 2, y: hy - size / 2, width: size,
            height: size, class: `nblabel-handle nblabel-handle-${h}`, "data-handle": h,
            "vector-effect": "non-scaling-stroke" });
          handle.addEventListener("mousedown", (e) => startBoxDrag(e, row, h));
          selectedGroup.appendChild(handle);
        }
      }
    }
    if (local.drag && local.drag.kind === "draw" && local.drag.box) {
      const [x, y, w, h] = local.drag.box;
      overlay.appendChild(svgEl("rect", { x, y, width: w, height: h, class: "nblabel-draft",
        "vector-effect": "non-scaling-stroke" }));
    }
    drawInfo();
  }

  // Instance masks: the PNG (white inside) is an SVG luminance mask over a rectangle filled
  // with the class colour, stretched over the box (as FiftyOne stores masks).
  const maskUrls = new WeakMap();
  const uid = Math.random().toString(36).slice(2, 8);
  function maskShape(row, colour, i) {
    let url = maskUrls.get(row.mask);
    if (!url) {
      url = URL.createObjectURL(new Blob([row.mask], { type: "image/png" }));
      maskUrls.set(row.mask, url);
    }
    const [x, y, w, h] = row.box;
    const id = `nblabel-mask-${uid}-${i}`;
    const g = svgEl("g", { class: "nblabel-mask" });
    const m = svgEl("mask", { id, maskUnits: "userSpaceOnUse", x, y, width: w, height: h });
    m.appendChild(svgEl("image", { href: url, x, y, width: w, height: h,
      preserveAspectRatio: "none" }));
    g.append(m, svgEl("rect", { x, y, width: w, height: h, fill: colour, mask: `url(#${id})`,
      class: "nblabel-mask-fill" }));
    return g;
  }

  function drawInfo() {
    const total = model.get("total");
    progress.textContent =
      `${model.get("reviewed")} of ${total} reviewed · image ${total ? local.position + 1 : 0}/${total}`;
    const rows = local.boxes;
    const row = selectedRow();
    const pending = rows.filter((r) => r.status === "pending" && visible(r)).length;
    const hidden = rows.filter((r) => !visible(r)).length;
    info.textContent = row
      ? `box ${selectedIndex() + 1}/${rows.length}: ${row.label}` +
        (row.confidence == null ? "" : ` (${row.confidence.toFixed(2)})`) +
        ` · ${row.status} · ${pending} pending` + (hidden ? ` · ${hidden} below threshold` : "") +
        (row.unusable ? ` · unusable: ${row.unusable} (r rejects it)` : "")
      : rows.length === 0 && !model.get("image_error")
        ? "no boxes on this image: press b to draw one, → to go on"
        : "";
    message.textContent = model.get("message");
    // The class list, with the selected box's class chosen.
    const cls = classes();
    if (classSelect.options.length !== cls.length ||
        [...classSelect.options].some((o, i) => o.value !== cls[i])) {
      classSelect.replaceChildren(...cls.map((c, i) => {
        const o = el("option", "", `${i + 1}: ${c}`);
        o.value = c;
        return o;
      }));
    }
    classSelect.value = row ? row.label : "";
    threshold.value = String(thresholdValue());
    thresholdText.textContent = `≥ ${thresholdValue().toFixed(2)}`;
    root.dataset.mode = model.get("mode");
  }

  // ---- mouse: move, resize, draw, pan ----------------------------------------------------
  function stagePoint(e) {
    const r = stage.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  function imagePoint(e) {
    const [sx, sy] = stagePoint(e);
    return toImage(view, sx, sy);
  }

  function startBoxDrag(e, row, handle) {
    if (e.button !== 0 || local.drawing) return;
    e.stopPropagation();
    e.preventDefault();
    root.focus({ preventScroll: true });
    setSelected(row.key);
    if (row.status === "rejected") return;
    const [ix, iy] = imagePoint(e);
    local.drag = { kind: "box", key: row.key, handle, start: [ix, iy], orig: [...row.box],
      moved: false };
  }

  stage.addEventListener("mousedown", (e) => {
    if (e.button !== 0 && e.button !== 1) return;
    root.focus({ preventScroll: true });
    e.preventDefault();
    if (local.drawing && e.button === 0) {
      const [ix, iy] = imagePoint(e);
      local.drag = { kind: "draw", start: [ix, iy], box: null };
    } else {
      local.drag = { kind: "pan", start: stagePoint(e), t: [view.tx, view.ty] };
      root.classList.add("nblabel-panning");
    }
  });

  const onMove = (e) => {
    const drag = local.drag;
    if (!drag) return;
    if (drag.kind === "pan") {
      const [sx, sy] = stagePoint(e);
      view.tx = drag.t[0] + sx - drag.start[0];
      view.ty = drag.t[1] + sy - drag.start[1];
      applyView();
      return;
    }
    const [ix, iy] = imagePoint(e);
    if (drag.kind === "draw") {
      drag.box = boxFromCorners(drag.start[0], drag.start[1], ix, iy);
      drawOverlay();
      return;
    }
    const dx = ix - drag.start[0];
    const dy = iy - drag.start[1];
    const row = local.boxes.find((b) => b.key === drag.key);
    if (!row) return;
    if (Math.abs(dx) * view.scale > 1 || Math.abs(dy) * view.scale > 1) drag.moved = true;
    row.box = drag.handle === "move"
      ? [drag.orig[0] + dx, drag.orig[1] + dy, drag.orig[2], drag.orig[3]]
      : resizeBox(drag.orig, drag.handle, dx, dy);
    drawOverlay(); // local only: nothing is sent while the mouse moves
  };

  const onUp = () => {
    const drag = local.drag;
    local.drag = null;
    root.classList.remove("nblabel-panning");
    if (!drag) return;
    if (drag.kind === "draw") {
      local.drawing = false;
      root.classList.remove("nblabel-drawing");
      const box = drag.box && clipBox(drag.box, local.width, local.height);
      if (box && box[2] * view.scale >= 3 && box[3] * view.scale >= 3) {
        const label = classSelect.value || classes()[0] || "object";
        send({ kind: "add", sample_id: local.sampleId, label, box, seconds: seconds() });
        root.dataset.saving = "true";
      }
      drawOverlay();
      return;
    }
    if (drag.kind === "box" && drag.moved) {
      const row = local.boxes.find((b) => b.key === drag.key);
      const box = row && clipBox(row.box, local.width, local.height);
      if (box) {
        row.box = box;
        row.status = row.proposal_id ? "edited" : row.status;
        send({ kind: "decide", sample_id: local.sampleId, key: drag.key, action: "edited",
          box, seconds: seconds() });
        root.dataset.saving = "true";
      } else if (row) {
        row.box = drag.orig; // moved off the image: put it back
      }
      drawOverlay();
    }
  };
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", onUp);

  stage.addEventListener("wheel", (e) => {
    e.preventDefault();
    const [sx, sy] = stagePoint(e);
    zoomAt(view, Math.exp(-e.deltaY * 0.0015), sx, sy);
    applyView();
  }, { passive: false });

  // ---- keys ------------------------------------------------------------------------------
  function zoomCentre(factor) {
    const [W, H] = stageSize();
    zoomAt(view, factor, W / 2, H / 2);
    applyView();
  }

  function fitImage() {
    const [W, H] = stageSize();
    fit(view, local.width || 1, local.height || 1, W, H);
    applyView();
  }

  function actualPixels() {
    const [W, H] = stageSize();
    zoomAt(view, 1 / view.scale, W / 2, H / 2);
    applyView();
  }

  function setThreshold(v) {
    model.set("threshold", Math.min(1, Math.max(0, Math.round(v * 100) / 100)));
    model.save_changes();
  }

  function toggleMode() {
    model.set("mode", model.get("mode") === "proposal" ? "image" : "proposal");
    model.save_changes();
  }

  const KEYS = {
    Tab: (e) => step(e.shiftKey ? -1 : 1),
    j: () => step(1),
    ArrowDown: () => step(1),
    k: () => step(-1),
    ArrowUp: () => step(-1),
    a: () => decide("accepted"),
    Enter: () => decide("accepted"),
    A: () => acceptAll(),
    r: () => decide("rejected"),
    x: () => decide("rejected"),
    Delete: () => decide("rejected"),
    Backspace: () => decide("rejected"),
    ArrowRight: () => go(1),
    d: () => go(1),
    n: () => go(1),
    ArrowLeft: () => go(-1),
    p: () => go(-1),
    b: () => {
      local.drawing = !local.drawing;
      root.classList.toggle("nblabel-drawing", local.drawing);
    },
    "[": () => setThreshold(thresholdValue() - 0.05),
    "]": () => setThreshold(thresholdValue() + 0.05),
    "+": () => zoomCentre(1.25),
    "=": () => zoomCentre(1.25),
    "-": () => zoomCentre(0.8),
    0: () => fitImage(),
    f: () => fitImage(),
    "!": () => actualPixels(),
    m: () => toggleMode(),
    c: () => classify(null),
    "?": () => root.classList.toggle("nblabel-show-help"),
    Escape: () => {
      root.classList.remove("nblabel-show-help");
      local.drawing = false;
      root.classList.remove("nblabel-drawing");
      if (local.drag && local.drag.kind === "box") {
        const row = local.boxes.find((b) => b.key === local.drag.key);
        if (row) row.box = local.drag.orig;
      }
      local.drag = null;
      drawOverlay();
    },
  };

  root.addEventListener("keydown", (e) => {
    const target = e.target;
    if (target && target.tagName === "SELECT") return; // let the class list take its keys
    const mod = e.ctrlKey || e.metaKey;
    let action = null;
    if (mod && (e.key === "z" || e.key === "Z")) {
      action = () => send({ kind: e.shiftKey ? "redo" : "undo" });
    } else if (mod && e.key === "y") {
      action = () => send({ kind: "redo" });
    } else if (e.altKey && /^Digit[1-9]$/.test(e.code)) {
      const top = imageLabel().top || [];
      const pick = top[Number(e.code.slice(5)) - 1];
      if (pick) action = () => classify(pick[0]);
    } else if (!mod && !e.altKey) {
      if (/^[1-9]$/.test(e.key)) {
        action = () => relabel(classes()[Number(e.key) - 1]);
      } else {
        const fn = KEYS[e.key];
        if (fn) action = () => fn(e);
      }
    }
    if (!action) return;
    e.preventDefault();
    e.stopPropagation();
    action();
  });
  // Keep every key typed in the widget away from the notebook's shortcuts, and keep the focus:
  // a click anywhere in the widget focuses it (the notebook would otherwise take the focus
  // back to select the cell, as Notebook 7 does).
  root.addEventListener("keyup", (e) => e.stopPropagation());
  root.addEventListener("keypress", (e) => e.stopPropagation());
  root.setAttribute("data-lm-suppress-shortcuts", "true"); // JupyterLab/Notebook 7 key map
  for (const type of ["pointerdown", "mousedown", "click", "focusin"]) {
    root.addEventListener(type, (e) => {
      e.stopPropagation();
      const tag = e.target && e.target.tagName;
      if (type !== "focusin" && tag !== "SELECT" && tag !== "INPUT" && tag !== "OPTION") {
        root.focus({ preventScroll: true });
      }
    });
  }

  classSelect.addEventListener("change", () => {
    relabel(classSelect.value);
    root.focus({ preventScroll: true });
  });
  threshold.addEventListener("input", () => {
    thresholdText.textContent = `≥ ${Number(threshold.value).toFixed(2)}`;
  });
  threshold.addEventListener("change", () => {
    setThreshold(Number(threshold.value));
    root.focus({ preventScroll: true });
  });

  // ---- toolbar, help ---------------------------------------------------------------------
  toolbar.append(
    button("nblabel-prev-image", "◀", "previous image (← / p)", () => go(-1)),
    button("nblabel-next-image", "▶", "next image (→ / d / n)", () => go(1)),
    button("nblabel-accept", "✓ accept", "accept (a / Enter)", () => decide("accepted")),
    button("nblabel-reject", "✗ reject", "reject (r / x / Delete)", () => decide("rejected")),
    button("nblabel-accept-all", "✓✓ all", "accept every visible proposal (Shift+A)", acceptAll),
    button("nblabel-draw", "▭ draw", "draw a box (b)", () => KEYS.b()),
    classSelect,
    button("nblabel-undo", "↶", "undo (Ctrl+Z)", () => send({ kind: "undo" })),
    button("nblabel-redo", "↷", "redo (Ctrl+Shift+Z)", () => send({ kind: "redo" })),
    progress,
    filename,
  );
  toolbar2.append(
    el("span", "nblabel-label", "threshold"),
    threshold,
    thresholdText,
    button("nblabel-zoom-out", "−", "zoom out (-)", () => zoomCentre(0.8)),
    zoomText,
    button("nblabel-zoom-in", "+", "zoom in (+)", () => zoomCentre(1.25)),
    button("nblabel-fit", "fit", "fit the image (0 / f)", fitImage),
    button("nblabel-one-to-one", "1:1", "actual pixels (Shift+1)", actualPixels),
    button("nblabel-mode", "mode", "image mode / proposal mode (m)", toggleMode),
    button("nblabel-help-button", "?", "keys (?)", () => KEYS["?"]()),
  );
  function drawHelp() {
    help.replaceChildren(el("div", "nblabel-help-title", "Keys"));
    for (const [k, v] of model.get("keys_help") || []) {
      const row = el("div", "nblabel-help-row");
      row.append(el("kbd", "", k), el("span", "", v));
      help.appendChild(row);
    }
  }
  drawHelp();
  const syncStatus = el("div", "nblabel-sync-status");
  root.append(toolbar, toolbar2, classPanel, stage, info, message, notice, syncStatus, help);
  function drawNotice() {
    notice.textContent = model.get("notice") || "";
    notice.style.display = notice.textContent ? "" : "none";
  }
  drawNotice();
  model.on("change:notice", drawNotice);
  // Where the sync to FiftyOne stands (Python decides the words; shown unless all is synced).
  function drawSyncStatus() {
    const st = model.get("sync_status") || {};
    syncStatus.dataset.state = st.state || "synced";
    syncStatus.dataset.waiting = String(st.waiting || 0);
    syncStatus.textContent = st.message || "";
    syncStatus.style.display = syncStatus.textContent ? "" : "none";
  }
  drawSyncStatus();
  model.on("change:sync_status", drawSyncStatus);

  // ---- from Python -----------------------------------------------------------------------
  function modelMeta() {
    return {
      sample_id: model.get("sample_id"),
      filename: model.get("filename"),
      image_width: model.get("image_width"),
      image_height: model.get("image_height"),
      image_preview: model.get("image_preview"),
      image_error: model.get("image_error"),
      image_label: model.get("image_label"),
    };
  }

  /** Keep a sample's image (decoding it now) and boxes for an instant display later. */
  function remember(meta, data, mime, boxes, position) {
    const entry = { position, meta, boxes, bitmap: null, decoded: false, promise: null };
    entry.promise = decode(data, mime).then((bitmap) => {
      entry.bitmap = bitmap;
      entry.decoded = true;
      return bitmap;
    });
    const old = cache.get(meta.sample_id);
    if (old && old.bitmap) old.bitmap.close();
    cache.set(meta.sample_id, entry);
    byPosition.set(position, meta.sample_id);
    for (const [sid, e] of [...cache.entries()]) {
      if (cache.size <= CACHE_SIZE) break;
      if (sid === local.sampleId) continue; // the image on screen stays
      cache.delete(sid);
      if (e.bitmap) e.bitmap.close();
    }
    return entry;
  }

  // Python's state changed: reconcile once per batch of trait changes.
  let scheduled = false;
  function fromModel() {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      delete root.dataset.saving;
      const meta = modelMeta();
      const boxes = model.get("boxes") || [];
      local.position = model.get("position");
      let entry = cache.get(meta.sample_id);
      if (meta.sample_id !== local.sampleId || !entry) {
        entry = remember(meta, model.get("image"), model.get("image_mime"), boxes,
          local.position);
        display(meta, entry.decoded ? entry.bitmap : entry.promise, boxes);
      } else {
        entry.boxes = boxes;
        const keepDrag = local.drag && local.drag.kind === "box";
        if (!keepDrag) display(meta, entry.bitmap, boxes);
      }
      drawInfo();
    });
  }

  model.on("msg:custom", (content, buffers) => {
    if (content.kind === "prefetch") {
      const boxes = content.boxes.map((b) => (
        typeof b.mask === "number" ? { ...b, mask: buffers[b.mask] } : b));
      remember(content, buffers[0], content.image_mime, boxes, content.position);
    } else if (content.kind === "full_res" && content.sample_id === local.sampleId) {
      decode(buffers[0], content.image_mime).then((bitmap) => {
        if (!bitmap || content.sample_id !== local.sampleId) return;
        local.fullRes = true;
        drawBitmap(bitmap);
        const entry = cache.get(content.sample_id);
        if (entry) {
          if (entry.bitmap) entry.bitmap.close();
          entry.bitmap = bitmap;
        }
        root.dataset.fullRes = "true";
      });
    }
  });

  for (const name of ["sample_id", "image", "boxes", "image_error", "position", "total",
    "reviewed", "message", "image_label", "reference"]) {
    model.on(`change:${name}`, fromModel);
  }
  model.on("change:selected", () => {
    if (model.get("mode") === "proposal") {
      focusSelected();
      applyView();
    } else {
      drawOverlay();
    }
  });
  model.on("change:threshold", drawOverlay);
  model.on("change:classes", drawOverlay);
  model.on("change:mode", () => {
    if (model.get("mode") === "proposal") focusSelected();
    else fitImage();
    applyView();
  });
  model.on("change:keys_help", drawHelp);

  const resize = new ResizeObserver(() => {
    local.fitted = false;
    layout();
  });
  resize.observe(stage);

  fromModel();
  send({ kind: "hello" });
  root.dataset.ready = "true";

  return () => {
    resize.disconnect();
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    for (const e of cache.values()) if (e.bitmap) e.bitmap.close();
  };
}

export default { render };
