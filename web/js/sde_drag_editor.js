// SDE-Drag point editor: a canvas on the SDE-Drag node (SDEEdit_SDEDrag) where handle -> target pairs are
// clicked onto the source image. The pairs live in the node's own `drag_points` STRING widget as JSON
// ({"pairs": [{"source": [x, y], "target": [x, y]}, ...]} in image pixels), which serializes as usual; the
// editor widget itself is never serialized. Geometry, editing and JSON are in drag_points.js (no DOM).
//
// This file sits at /extensions/<pack>/js/, so ComfyUI's scripts are three levels up.
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";

import {
  addPoint,
  canvasToImage,
  clearPairs,
  completeCount,
  deletePair,
  hitTest,
  imageToCanvas,
  isOnImage,
  layoutImage,
  movePoint,
  parseImageWidgetValue,
  pendingIndex,
  pointsOutside,
  serializeDragPoints,
  stateFromText,
  viewQuery,
} from "./drag_points.js";

const NODE_CLASS = "SDEEdit_SDEDrag";
const TEXT_WIDGET = "drag_points";
const IMAGE_INPUT = "image";
const EDITOR_WIDGET = "drag_editor";
const EDITOR_IMAGE_KEY = "sde_drag_source"; // the node's UI output with its source image: EDITOR_IMAGE_KEY in nodes/sde_drag.py
const MIN_HEIGHT = 200; // editor (toolbar + canvas) in graph units
const TEXT_MAX_HEIGHT = 110; // the drag_points textarea: a few lines, the rest of the node goes to the canvas
const HIT_RADIUS = 9; // canvas px
const POINT_RADIUS = 5;
const MAX_UPSTREAM_HOPS = 16;
const BYPASS_MODE = 4;

// Core nodes whose `image` widget names a file that /view serves, and the folder type it defaults to.
const IMAGE_LOADERS = { LoadImage: "input", LoadImageMask: "input", LoadImageOutput: "output" };

const COLORS = {
  background: "#1b1b1b",
  handle: "#ff4d4d",
  target: "#3d9bff",
  arrow: "#ffd84d",
  outline: "rgba(0, 0, 0, 0.85)",
  text: "#ffffff",
  hint: "#9a9a9a",
};

/** One editor per SDE-Drag node. */
class DragPointEditor {
  constructor(node) {
    this.node = node;
    this.state = { pairs: [] };
    this.error = null; // message while the drag_points text does not parse
    this.lastText = null; // drag_points text last read or written by the editor
    this.image = null; // loaded HTMLImageElement
    this.imageUrl = null; // URL being shown (or loading)
    this.imageLabel = "";
    this.imageError = null;
    this.executedFile = null; // last execution's preview { filename, subfolder, type }
    this.drag = null; // { ref: { pair, role }, pointerId }
    this.hover = null;
    this.dirty = true; // the canvas needs drawing at the next animation frame
    this.buildDom();
    this.frame = requestAnimationFrame(() => this.onFrame());
  }

  /**
   * Once per animation frame while the node is on the page: pick up a hand edit of the drag_points text
   * and a change of the upstream image (both a string compare when nothing changed), then draw if needed.
   * The browser pauses the frames of a hidden page.
   */
  onFrame() {
    this.frame = requestAnimationFrame(() => this.onFrame());
    if (!this.element.isConnected) return;
    this.syncFromWidget();
    this.refreshImage();
    if (this.dirty) {
      this.dirty = false;
      this.draw();
    }
  }

  /** Draws at the next animation frame (several requests in one frame draw once). */
  requestDraw() {
    this.dirty = true;
  }

  // ---- DOM ---------------------------------------------------------------------------------------------
  buildDom() {
    const root = document.createElement("div");
    root.className = "sde-drag-editor";
    Object.assign(root.style, {
      // height: LiteGraph sizes the widget (MIN_HEIGHT and up, less its margins); min-height keeps the canvas
      // visible where the node is laid out by the browser instead (1.3x "Vue nodes" mode)
      display: "flex", flexDirection: "column", gap: "4px", width: "100%", height: "100%",
      minHeight: `${MIN_HEIGHT - 20}px`,
      boxSizing: "border-box", font: "12px sans-serif", color: "var(--input-text, #ddd)", overflow: "hidden",
    });

    const bar = document.createElement("div");
    Object.assign(bar.style, { display: "flex", alignItems: "center", gap: "6px", flex: "0 0 auto", minHeight: "22px" });
    const clear = document.createElement("button");
    clear.type = "button";
    clear.textContent = "Clear";
    clear.title = "Remove all drag pairs";
    clear.className = "sde-drag-clear";
    Object.assign(clear.style, {
      font: "inherit", padding: "2px 10px", cursor: "pointer", borderRadius: "4px",
      border: "1px solid var(--border-color, #555)", background: "var(--comfy-input-bg, #222)",
      color: "var(--input-text, #ddd)",
    });
    clear.addEventListener("click", (event) => {
      event.stopPropagation();
      this.clear();
    });
    const info = document.createElement("span");
    info.className = "sde-drag-info";
    Object.assign(info.style, { flex: "1 1 auto", minWidth: "0", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" });
    bar.append(clear, info);

    const stage = document.createElement("div");
    Object.assign(stage.style, {
      position: "relative", flex: "1 1 auto", minHeight: "0", borderRadius: "4px", overflow: "hidden",
      background: COLORS.background,
    });
    const canvas = document.createElement("canvas");
    canvas.className = "sde-drag-canvas";
    Object.assign(canvas.style, {
      position: "absolute", left: "0", top: "0", width: "100%", height: "100%", cursor: "crosshair",
      touchAction: "none", display: "block",
    });
    stage.append(canvas);
    root.append(bar, stage);

    canvas.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    canvas.addEventListener("pointermove", (event) => this.onPointerMove(event));
    canvas.addEventListener("pointerup", (event) => this.onPointerUp(event));
    canvas.addEventListener("pointercancel", (event) => this.onPointerUp(event));
    canvas.addEventListener("pointerleave", () => this.setHover(null));
    canvas.addEventListener("contextmenu", (event) => this.onContextMenu(event));
    canvas.addEventListener("wheel", (event) => {
      // zoom / pan the graph as over any other part of the node
      if (typeof app.canvas?.processMouseWheel === "function") {
        event.preventDefault();
        app.canvas.processMouseWheel(event);
      }
    }, { passive: false });

    this.element = root;
    this.canvas = canvas;
    this.info = info;
    this.clearButton = clear;
    if (typeof ResizeObserver === "function") {
      this.resizeObserver = new ResizeObserver(() => this.requestDraw());
      this.resizeObserver.observe(stage);
    }
  }

  dispose() {
    this.resizeObserver?.disconnect();
    this.resizeObserver = null;
    cancelAnimationFrame(this.frame);
  }

  // ---- the drag_points widget --------------------------------------------------------------------------
  textWidget() {
    return this.node.widgets?.find((widget) => widget.name === TEXT_WIDGET) ?? null;
  }

  /** drag_points fed by a link (widget converted to an input): the editor can only show it. */
  textIsLinked() {
    return !!this.node.inputs?.some((input) => input.widget?.name === TEXT_WIDGET && input.link != null);
  }

  /** Re-reads the drag_points text when it changed since the editor last read or wrote it (or `force`). */
  syncFromWidget(force = false) {
    const widget = this.textWidget();
    if (!widget) return;
    const text = widget.value == null ? "" : String(widget.value);
    if (!force && text === this.lastText) return;
    this.lastText = text;
    const { state, error } = stateFromText(text);
    this.error = error;
    if (state) this.state = state; // a pending handle is dropped: the text is the truth
    this.drag = null;
    this.requestDraw();
  }

  /**
   * Writes the editor's pairs into the drag_points widget (its callback fires as for a typed edit) and
   * records the change in the workflow's undo history: the canvas takes the pointer events, so the
   * frontend's own mouseup check never sees the edit.
   */
  commit() {
    const widget = this.textWidget();
    const text = serializeDragPoints(this.state);
    this.lastText = text;
    if (widget && widget.value !== text) widget.value = text;
    this.node.setDirtyCanvas?.(true, true);
    app.extensionManager?.workflow?.activeWorkflow?.changeTracker?.checkState?.();
    this.requestDraw();
  }

  clear() {
    if (this.textIsLinked()) return;
    this.state = clearPairs();
    this.error = null;
    this.drag = null;
    this.commit();
  }

  // ---- the source image --------------------------------------------------------------------------------
  /** The node that provides the image shown: a core image loader upstream of `image`, through reroutes. */
  upstreamLoader() {
    let node = this.node;
    let slot = node.inputs?.findIndex((input) => input.name === IMAGE_INPUT) ?? -1;
    for (let hop = 0; hop < MAX_UPSTREAM_HOPS; hop++) {
      if (slot < 0 || node.inputs?.[slot]?.link == null) return null;
      const upstream = node.getInputNode?.(slot);
      if (!upstream) return null;
      const kind = upstream.comfyClass ?? upstream.type;
      if (kind in IMAGE_LOADERS) return upstream;
      if (kind === "Reroute") {
        slot = 0;
      } else if (upstream.mode === BYPASS_MODE) {
        slot = upstream.inputs?.findIndex((input) => input.type === "IMAGE") ?? -1;
      } else {
        return null;
      }
      node = upstream;
    }
    return null;
  }

  /** { url, label } of the image to show, or null. */
  resolveImage() {
    const loader = this.upstreamLoader();
    if (loader) {
      const kind = loader.comfyClass ?? loader.type;
      const widget = loader.widgets?.find((w) => w.name === "image");
      const file = parseImageWidgetValue(widget?.value, IMAGE_LOADERS[kind]);
      if (file) return { url: api.apiURL(`/view?${viewQuery(file)}`), label: file.filename };
    }
    if (this.executedFile) {
      return { url: api.apiURL(`/view?${viewQuery(this.executedFile)}`), label: "last run" };
    }
    return null;
  }

  /** Loads the image when its source changed; cheap when nothing did (called on every node redraw). */
  refreshImage() {
    const source = this.resolveImage();
    const url = source?.url ?? null;
    if (url === this.imageUrl) return;
    this.imageUrl = url;
    this.imageLabel = source?.label ?? "";
    this.imageError = null;
    if (!url) {
      this.image = null;
      this.requestDraw();
      return;
    }
    const image = new Image();
    image.onload = () => {
      if (this.imageUrl !== url) return;
      this.image = image;
      this.requestDraw();
      this.node.setDirtyCanvas?.(true, false);
    };
    image.onerror = () => {
      if (this.imageUrl !== url) return;
      this.image = null;
      this.imageError = `cannot load ${this.imageLabel}`;
      this.requestDraw();
    };
    image.src = url;
  }

  /** The node's UI output: the source image under its own key (not `images`, which the frontend draws). */
  onExecuted(message) {
    const file = message?.[EDITOR_IMAGE_KEY]?.[0];
    if (file?.filename) {
      this.executedFile = { filename: file.filename, subfolder: file.subfolder ?? "", type: file.type ?? "temp" };
      this.refreshImage();
    }
  }

  layout() {
    if (!this.image) return null;
    return layoutImage(this.canvas.clientWidth, this.canvas.clientHeight, this.image.naturalWidth, this.image.naturalHeight);
  }

  // ---- pointer -----------------------------------------------------------------------------------------
  /** Event position in canvas CSS pixels (the graph's zoom is a CSS transform on the widget). */
  eventPos(event) {
    const rect = this.canvas.getBoundingClientRect();
    const sx = rect.width > 0 ? this.canvas.clientWidth / rect.width : 1;
    const sy = rect.height > 0 ? this.canvas.clientHeight / rect.height : 1;
    return [(event.clientX - rect.left) * sx, (event.clientY - rect.top) * sy];
  }

  editable() {
    return !this.error && !this.textIsLinked();
  }

  /**
   * Takes a click on the canvas from the graph; when the editor accepts edits, returns the image layout, the
   * canvas position and the point under it (`hit`, or null), else null.
   */
  pointTarget(event) {
    event.preventDefault();
    event.stopPropagation();
    const layout = this.layout();
    if (!layout || !this.editable()) return null;
    const [cx, cy] = this.eventPos(event);
    return { layout, cx, cy, hit: hitTest(this.state, layout, cx, cy, HIT_RADIUS) };
  }

  onPointerDown(event) {
    if (panThrough(event, "processMouseDown") || event.button !== 0) return;
    const target = this.pointTarget(event);
    if (!target) return;
    const { layout, cx, cy, hit } = target;
    if (hit) {
      this.drag = { ref: { pair: hit.pair, role: hit.role }, pointerId: event.pointerId };
      this.canvas.setPointerCapture?.(event.pointerId);
      this.requestDraw();
      return;
    }
    if (!isOnImage(layout, cx, cy)) return;
    this.state = addPoint(this.state, canvasToImage(layout, cx, cy));
    this.commit();
  }

  onPointerMove(event) {
    if (panThrough(event, "processMouseMove")) return;
    const layout = this.layout();
    if (!layout) return;
    const [cx, cy] = this.eventPos(event);
    if (this.drag && this.drag.pointerId === event.pointerId) {
      event.preventDefault();
      event.stopPropagation();
      this.state = movePoint(this.state, this.drag.ref, canvasToImage(layout, cx, cy));
      this.requestDraw();
      return;
    }
    const hit = this.editable() ? hitTest(this.state, layout, cx, cy, HIT_RADIUS) : null;
    this.setHover(hit ? { pair: hit.pair, role: hit.role } : null);
  }

  onPointerUp(event) {
    if (panThrough(event, "processMouseUp")) return;
    if (!this.drag || this.drag.pointerId !== event.pointerId) return;
    event.stopPropagation();
    this.canvas.releasePointerCapture?.(event.pointerId);
    this.drag = null;
    this.commit();
  }

  onContextMenu(event) {
    const hit = this.pointTarget(event)?.hit;
    if (!hit) return;
    this.state = deletePair(this.state, hit.pair);
    this.hover = null;
    this.commit();
  }

  setHover(ref) {
    const same = ref && this.hover ? ref.pair === this.hover.pair && ref.role === this.hover.role : ref === this.hover;
    if (same) return;
    this.hover = ref;
    this.canvas.style.cursor = ref ? "move" : "crosshair";
    this.requestDraw();
  }

  // ---- drawing -----------------------------------------------------------------------------------------
  statusText() {
    if (this.textIsLinked()) return { text: "drag_points comes from a link: the editor only shows it", error: false };
    if (this.error) return { text: `${this.error} (fix the text or press Clear)`, error: true };
    if (this.imageError) return { text: this.imageError, error: true };
    if (!this.image) return { text: "no image yet", error: false };
    const n = completeCount(this.state);
    const size = `${this.image.naturalWidth}\u00d7${this.image.naturalHeight}`;
    const outside = pointsOutside(this.state.pairs, this.image.naturalWidth, this.image.naturalHeight);
    if (outside.length) return { text: `${outside.length} point(s) outside the ${size} image: ${outside.join(", ")}`, error: true };
    const pending = pendingIndex(this.state);
    const what = pending >= 0 ? `pair ${pending + 1}: click its target`
      : n === 0 ? "click a handle, then its target" : "drag to move \u00b7 right-click deletes";
    return { text: `${n} pair${n === 1 ? "" : "s"} \u00b7 ${size} \u00b7 ${what}`, error: false };
  }

  draw() {
    const status = this.statusText();
    this.info.textContent = status.text;
    this.info.title = status.text;
    this.info.style.color = status.error ? "#ff6b6b" : "";
    this.clearButton.disabled = this.textIsLinked();

    const canvas = this.canvas;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!(width > 0 && height > 0)) return;
    const ratio = window.devicePixelRatio || 1;
    const pixelWidth = Math.round(width * ratio);
    const pixelHeight = Math.round(height * ratio);
    if (canvas.width !== pixelWidth || canvas.height !== pixelHeight) {
      canvas.width = pixelWidth;
      canvas.height = pixelHeight;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, width, height);

    const layout = this.layout();
    if (!layout) {
      ctx.fillStyle = COLORS.hint;
      ctx.font = "12px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      const lines = this.imageError ? [this.imageError]
        : ["Connect a LoadImage node to \u201cimage\u201d", "or run the workflow once to show its image"];
      lines.forEach((line, i) => ctx.fillText(line, width / 2, height / 2 + (i - (lines.length - 1) / 2) * 16));
      return;
    }
    ctx.imageSmoothingEnabled = layout.scale < 4;
    ctx.drawImage(this.image, layout.offsetX, layout.offsetY, layout.drawWidth, layout.drawHeight);
    if (this.error) { // the text is invalid: show that nothing is drawn from it
      ctx.fillStyle = "rgba(0, 0, 0, 0.45)";
      ctx.fillRect(0, 0, width, height);
      return;
    }
    this.state.pairs.forEach((pair, index) => this.drawPair(ctx, layout, pair, index));
  }

  drawPair(ctx, layout, pair, index) {
    const source = imageToCanvas(layout, pair.source);
    const target = pair.target ? imageToCanvas(layout, pair.target) : null;
    const active = (role) => (this.drag?.ref.pair === index && this.drag.ref.role === role) ||
      (this.hover?.pair === index && this.hover.role === role);
    if (target) drawArrow(ctx, source, target);
    drawDot(ctx, source, COLORS.handle, active("source"), !target);
    if (target) drawDot(ctx, target, COLORS.target, active("target"), false);
    // number next to the handle
    const label = String(index + 1);
    ctx.font = "bold 12px sans-serif";
    ctx.textAlign = "left";
    ctx.textBaseline = "bottom";
    ctx.lineWidth = 3;
    ctx.strokeStyle = COLORS.outline;
    ctx.strokeText(label, source[0] + 6, source[1] - 4);
    ctx.fillStyle = COLORS.text;
    ctx.fillText(label, source[0] + 6, source[1] - 4);
  }
}

function drawArrow(ctx, from, to) {
  const dx = to[0] - from[0];
  const dy = to[1] - from[1];
  const length = Math.hypot(dx, dy);
  if (length < 1) return;
  const ux = dx / length;
  const uy = dy / length;
  const head = Math.min(10, length * 0.5);
  const tip = [to[0] - ux * POINT_RADIUS, to[1] - uy * POINT_RADIUS];
  const base = [tip[0] - ux * head, tip[1] - uy * head];
  const wing = head * 0.5;
  for (const [style, width] of [[COLORS.outline, 4], [COLORS.arrow, 2]]) {
    ctx.strokeStyle = style;
    ctx.fillStyle = style;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(base[0], base[1]);
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(tip[0], tip[1]);
    ctx.lineTo(base[0] - uy * wing, base[1] + ux * wing);
    ctx.lineTo(base[0] + uy * wing, base[1] - ux * wing);
    ctx.closePath();
    if (width === 4) ctx.stroke();
    ctx.fill();
  }
}

function drawDot(ctx, [x, y], color, active, pending) {
  const radius = active ? POINT_RADIUS + 2 : POINT_RADIUS;
  ctx.beginPath();
  ctx.arc(x, y, radius, 0, Math.PI * 2);
  ctx.fillStyle = color;
  ctx.fill();
  ctx.lineWidth = 2;
  ctx.strokeStyle = active ? "#ffffff" : COLORS.outline;
  ctx.stroke();
  if (pending) { // waiting for its target
    ctx.save();
    ctx.setLineDash([3, 3]);
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.arc(x, y, radius + 5, 0, Math.PI * 2);
    ctx.stroke();
    ctx.restore();
  }
}

/** The middle button pans the graph: hands a middle-button pointer event to LiteGraph's canvas handler. */
function panThrough(event, handler) {
  const middle = event.type === "pointermove" ? (event.buttons & 4) === 4 : event.button === 1;
  if (middle) app.canvas?.[handler]?.(event);
  return middle;
}

function chain(object, name, after) {
  const original = object[name];
  object[name] = function (...args) {
    const result = original?.apply(this, args);
    after.apply(this, args);
    return result;
  };
}

app.registerExtension({
  name: "SDEEdit.SDEDragPointEditor",

  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData?.name !== NODE_CLASS) return;
    const proto = nodeType.prototype;

    chain(proto, "onNodeCreated", function () {
      const editor = new DragPointEditor(this);
      this.sdeDragEditor = editor;
      const widget = this.addDOMWidget(EDITOR_WIDGET, "sde_drag_editor", editor.element, {
        serialize: false, // not part of the prompt; the pairs travel in drag_points
        hideOnZoom: false,
        getMinHeight: () => MIN_HEIGHT,
        getValue: () => undefined,
        setValue: () => {},
      });
      widget.serialize = false; // not in widgets_values either (it is the last widget: no index shift)

      const text = editor.textWidget();
      if (text) {
        chain(text, "callback", () => editor.syncFromWidget());
        if (text.options && !text.options.getMaxHeight) text.options.getMaxHeight = () => TEXT_MAX_HEIGHT;
      }
      editor.syncFromWidget(true);
      const height = this.computeSize()[1];
      this.setSize([Math.max(this.size[0], 420), Math.max(this.size[1], height + 140)]);
    });

    chain(proto, "onConfigure", function () {
      this.sdeDragEditor?.syncFromWidget(true);
      this.sdeDragEditor?.refreshImage();
    });

    chain(proto, "onExecuted", function (message) {
      this.sdeDragEditor?.onExecuted(message);
    });

    chain(proto, "onConnectionsChange", function () {
      this.sdeDragEditor?.refreshImage();
    });

    chain(proto, "onRemoved", function () {
      this.sdeDragEditor?.dispose();
    });
  },

  loadedGraphNode(node) {
    if ((node.comfyClass ?? node.type) !== NODE_CLASS) return;
    node.sdeDragEditor?.syncFromWidget(true);
    node.sdeDragEditor?.refreshImage();
  },
});
