// From Python: the traits of the image on screen and the messages (rows, images sent ahead, the
// full-resolution image, masks and polygons). Python's answer to a request ends its wait
// (decisions.ts): its rows replace what was painted as on its way, or its error puts it back.
import { type Entry, decode } from "./imagecache";
import { drawClassPanel, drawNotice, drawSources, drawSyncStatus } from "./panels";
import { decodeRows } from "./protocol";
import { display, drawBitmap, fitImage, focusSelected, layout, painted } from "./stage";
import type { Box4, FromPython, ImageMeta } from "./types";
import type { ReviewView } from "./widget";

function meta(v: ReviewView): ImageMeta {
  const m = v.model;
  return {
    sample_id: m.get("sample_id"), filename: m.get("filename"),
    image_mime: m.get("image_mime"), image_width: m.get("image_width"),
    image_height: m.get("image_height"), image_preview: m.get("image_preview"),
    image_error: m.get("image_error"), image_label: m.get("image_label"),
    draw_first: m.get("draw_first"),
  };
}

/**
 * Python's image traits changed: show that sample (from the cache when it is there). Traits
 * that answer an older move than the browser's last one are left alone: after a quick
 * ArrowRight, ArrowLeft the browser already shows the image it went back to, and Python's
 * answer to the first move must not bring the second image back (a key pressed then would
 * act on the wrong image). Python's own moves (Shift+N, a reviewer's ``goto``) carry no new
 * number and are shown.
 */
export function fromModel(v: ReviewView): void {
  if ((v.model.get("nav") || 0) < v.send.lastNav) {
    v.drawInfo();
    return;
  }
  const mt = meta(v);
  v.position = v.model.get("position");
  if (mt.sample_id !== v.store.sampleId) {
    let entry: Entry | undefined = v.cache.get(mt.sample_id);
    const full = v.lastFull && v.lastFull.sampleId === mt.sample_id ? v.lastFull : null;
    const rows = full ? full.rows : entry ? entry.rows : [];
    if (!entry) {
      entry = v.cache.remember(mt, v.model.get("image"), rows, v.position,
        v.store.sampleId, full ? full.selected : null);
    }
    display(v, mt, entry.decoded ? entry.bitmap : entry.promise, rows, null);
  } else {
    drawClassPanel(v.c, mt, (label) => v.decisions.classify(label));
  }
  v.drawInfo();
}

/** Python chose the selection: take it without sending it back. */
function setSelectedQuiet(v: ReviewView, key: string): void {
  v.model.set("selected", key);
  if (v.model.get("mode") === "proposal") {
    focusSelected(v);
    v.viewChanged();
  }
}

export function onRows(v: ReviewView, msg: Extract<FromPython, { kind: "rows" }>,
  buffers: DataView[]): void {
  const received = performance.now();
  const rows = decodeRows(msg.rows, buffers);
  const entry = v.cache.get(msg.sample_id);
  if (msg.sample_id !== v.store.sampleId) {
    if (msg.full) {
      v.lastFull = { sampleId: msg.sample_id, rows, selected: msg.selected };
      if (entry) {
        entry.rows = rows;
        entry.selected = msg.selected;
      }
    }
  } else if (msg.full) {
    v.store.setAll(msg.sample_id, rows);
    v.reindex();
    v.exclude.clear();
    v.pendingEdit = null;
    if (msg.selected !== null) setSelectedQuiet(v, msg.selected);
    v.renderAll();
  } else {
    const { changed, structural } = v.store.apply(rows, msg.removed);
    const dirty: Box4[] = [];
    if (structural) v.reindex();
    for (const { index, before } of changed) {
      const row = v.store.rows[index];
      if (before) dirty.push(before);
      dirty.push(row.box);
      if (!structural) v.index.update(index, row.box);
      v.exclude.delete(row.key);
    }
    if (v.pendingEdit && changed.some(({ index }) =>
      v.store.rows[index].key === v.pendingEdit!.key)) v.pendingEdit = null;
    if (msg.selected !== null) setSelectedQuiet(v, msg.selected);
    v.boxes.setScene(v.scene());
    if (structural || msg.removed.length) v.boxes.render();
    else v.boxes.redraw(dirty);
    v.updateList(true);
    v.liveChanged();
    v.drawInfo();
    if (entry) entry.rows = v.store.rows;
  }
  v.decisions.answered(msg.seq, msg.error ?? null);
  painted(v, msg.seq, received);
}

function onPrefetch(v: ReviewView, msg: Extract<FromPython, { kind: "prefetch" }>,
  buffers: DataView[]): void {
  const rows = decodeRows(msg.rows, buffers);
  const { kind: _k, position, rows: _r, selected, ...mt } = msg;
  v.cache.remember(mt, buffers[0] ?? null, rows, position, v.store.sampleId, selected);
}

function onFullRes(v: ReviewView, msg: Extract<FromPython, { kind: "full_res" }>,
  buffers: DataView[]): void {
  if (msg.sample_id !== v.store.sampleId) return;
  decode(buffers[0], msg.image_mime).then((bitmap) => {
    if (!bitmap || msg.sample_id !== v.store.sampleId) return;
    v.fullRes = true;
    drawBitmap(v, bitmap);
    v.cache.replaceBitmap(msg.sample_id, bitmap);
    v.c.root.dataset.fullRes = "true";
  });
}

/** Listen to the model: traits and messages; then greet Python (a new view has no rows). */
export function wireModel(v: ReviewView): void {
  const { model, c } = v;
  let scheduled = false;
  const changed = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      fromModel(v);
    });
  };
  for (const name of ["sample_id", "image", "image_error", "position", "total", "reviewed",
    "message", "image_label", "nav"] as const) model.on(`change:${name}`, changed);
  model.on("change:reference", () => v.renderAll());
  model.on("change:selected", () => {
    if (model.get("mode") === "proposal") {
      focusSelected(v);
      v.viewChanged();
    }
    v.selectionChanged(true);
  });
  model.on("change:threshold", () => v.drawInfo());
  model.on("change:classes", () => {
    v.drawInfo();
    if (v.pendingClass && v.classes().includes(v.pendingClass)) {
      // A typed class is the next drawn box's; with a box selected (not drawing), it is
      // that box's too, as a class picked in the list is (every kind does the same).
      const name = v.pendingClass;
      v.drawClass = name;
      v.pendingClass = null;
      const sel = v.store.get(v.selected);
      if (!v.ui.drawing && sel && sel.label !== name && !sel.unusable) v.decisions.relabel(name);
      v.drawInfo();
    }
    v.renderAll();
  });
  model.on("change:mode", () => {
    if (model.get("mode") === "proposal") {
      focusSelected(v);
      v.viewChanged();
    } else {
      fitImage(v);
    }
    v.drawInfo();
  });
  model.on("change:notice", () => drawNotice(c, model));
  model.on("change:sync_status", () => drawSyncStatus(c, model));
  model.on("change:help_status", () => drawSources(c, model));
  model.on("msg:custom", (msg: FromPython, buffers: DataView[]) => {
    if (msg.kind === "rows") onRows(v, msg, buffers);
    else if (msg.kind === "prefetch") onPrefetch(v, msg, buffers);
    else if (msg.kind === "full_res") onFullRes(v, msg, buffers);
    else if (msg.kind === "mask") v.masks.onMask(msg, buffers);
    else if (msg.kind === "polygon") v.masks.onPolygon(msg);
  });
  const resize = new ResizeObserver(() => {
    v.fitted = false;
    layout(v);
    v.boxes.render(v.view, ...v.stageSize());
  });
  resize.observe(c.stage);
  v.disposers.push(() => resize.disconnect());
  drawNotice(c, model);
  drawSyncStatus(c, model);
  drawSources(c, model);
  fromModel(v);
  v.send.hello();
  c.root.dataset.ready = "true";
}
