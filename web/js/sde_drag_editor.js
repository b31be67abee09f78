// SDE-Drag point editor: a canvas on the SDE-Drag node (SDEEdit_SDEDrag) where handle -> target pairs are
// clicked onto the source image and the editable area is painted with a brush. The pairs live in the node's own
// `drag_points` STRING widget as JSON ({"pairs": [{"source": [x, y], "target": [x, y]}, ...]} in image pixels),
// the painted mask in its hidden `editor_mask` widget (a run-length code at the image's size); both serialize as
// usual, the editor widget itself never. Geometry, editing and JSON are in drag_points.js, the mask in
// editor_mask.js, the preset rule in step_presets.js (no DOM in any of them).
//
// This file sits at /extensions/<pack>/js/, so ComfyUI's scripts are three levels up.
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";

import {
  addPoint,
  canvasToImage,
  canvasToImagePosition,
  clearPairs,
  completeCount,
  deletePair,
  downstreamNodes,
  hitTest,
  imageToCanvas,
  isOnImage,
  layoutImage,
  movePoint,
  nodeByExecutionId,
  parseImageWidgetValue,
  pendingIndex,
  pointsOutside,
  resultPlacement,
  serializeDragPoints,
  stateFromText,
  viewQuery,
} from "./drag_points.js";
import { decodeMask, emptyMask, encodeMask, maskFromPixels, paintSegment, writeOverlay } from "./editor_mask.js";
import { presetAfterStepsEdit, stepsForPreset } from "./step_presets.js";

const NODE_CLASS = "SDEEdit_SDEDrag";
const TEXT_WIDGET = "drag_points";
const MASK_WIDGET = "editor_mask";
const PRESET_WIDGET = "preset";
const STEPS_WIDGET = "steps";
const DOWNSCALE_WIDGET = "vae_downscale";
const IMAGE_INPUT = "image";
const MASK_INPUT = "mask";
const EDITOR_WIDGET = "drag_editor";
const EDITOR_IMAGE_KEY = "sde_drag_source"; // the node's UI output with its source image: EDITOR_IMAGE_KEY in nodes/sde_drag.py
const EDITOR_IMAGE_EVENT = "sde_edit.editor_image"; // the node's websocket message: EDITOR_IMAGE_EVENT in nodes/sde_drag.py
const MIN_HEIGHT = 230; // editor (toolbar + status + canvas) in graph units
const TEXT_MAX_HEIGHT = 110; // the drag_points textarea: a few lines, the rest of the node goes to the canvas
const HIT_RADIUS = 9; // canvas px
const POINT_RADIUS = 5;
const MAX_UPSTREAM_HOPS = 16;
const MAX_DOWNSTREAM_HOPS = 8; // SDE-Drag -> VAEDecode -> PreviewImage is 2; leaves room for reroutes
const BYPASS_MODE = 4;
const DEFAULT_BRUSH_SIZE = 24; // image px
const MAX_BRUSH_SIZE = 512;
const TOOLS = { points: "Points", brush: "Brush", erase: "Erase" };

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
  brush: "#ffffff",
};
// Mask overlay, RGBA 0-255: the painted (editable) area tinted, the kept area dimmed; a connected mask in
// another tint, as it cannot be painted here.
const OVERLAY = {
  painted: [80, 200, 255, 105],
  linked: [255, 170, 60, 105],
  kept: [0, 0, 0, 115],
};

/** The editors on the page, for the websocket messages that name other nodes (the result downstream). */
const editors = new Set();

/**
 * What the editors learned from runs: the files of each node's published image and mask and of the result
 * downstream, by node. Undo and redo rebuild every node and its editor, and the images must outlive that; a node
 * that is really removed (deleted, graph cleared, another workflow loaded) forgets them.
 */
const runFiles = new Map();

function runFilesKey(node) {
  return node.graph && node.graph !== app.graph ? `${node.graph.id}:${node.id}` : String(node.id); // subgraphs: own ids
}

function runFilesOf(node) {
  const key = runFilesKey(node);
  if (!runFiles.has(key)) runFiles.set(key, { image: null, mask: null, result: null });
  return runFiles.get(key);
}

function undoOrRedoRunning() {
  return app.extensionManager?.workflow?.activeWorkflow?.changeTracker?._restoringState === true;
}

/** A UI file { filename, subfolder, type } as /view takes it (temp files unless the message says otherwise). */
function viewFile(file) {
  return { filename: file.filename, subfolder: file.subfolder ?? "", type: file.type ?? "temp" };
}

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
    this.drag = null; // { ref: { pair, role }, pointerId }
    this.hover = null;
    this.tool = "points";
    this.brushSize = DEFAULT_BRUSH_SIZE;
    this.cursor = null; // [cx, cy] of the pointer over the canvas, for the brush outline
    this.mask = null; // the painted mask (editor_mask.js), null = none
    this.maskError = null; // message while the editor_mask text does not decode
    this.lastMaskText = null; // editor_mask text last read or written by the editor
    this.stroke = null; // { value, last: [x, y], pointerId } while the brush is down
    this.linkedMask = { url: null, mask: null, error: null }; // the connected mask, read from its file
    this.overlay = null; // { mask, tint, canvas, context, pixels }: the mask drawn at image size
    this.result = { url: null, image: null }; // the edited image of the last run, from downstream
    this.showResult = false;
    this.dirty = true; // the canvas needs drawing at the next animation frame
    this.buildDom();
    editors.add(this);
    this.frame = requestAnimationFrame(() => this.onFrame());
  }

  /**
   * Once per animation frame while the node is on the page: pick up a hand edit of the drag_points text, an
   * undo of the mask, and a change of the upstream image or mask (string compares when nothing changed), then
   * draw if needed. The browser pauses the frames of a hidden page.
   */
  onFrame() {
    this.frame = requestAnimationFrame(() => this.onFrame());
    if (!this.element.isConnected) return;
    this.syncFromWidget();
    this.syncMaskFromWidget();
    this.refreshImage();
    this.refreshLinkedMask();
    this.refreshResult();
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
    Object.assign(bar.style, { display: "flex", alignItems: "center", gap: "4px", flex: "0 0 auto", minHeight: "22px" });
    this.toolButtons = {};
    for (const [tool, label] of Object.entries(TOOLS)) {
      const button = makeButton(label, `sde-drag-tool-${tool}`, {
        points: "Click a handle, then its target; drag a point to move it",
        brush: "Paint the area that may change (the rest of the image stays exactly as it is)",
        erase: "Erase painted area",
      }[tool], () => this.setTool(tool));
      this.toolButtons[tool] = button;
      bar.append(button);
    }
    const size = document.createElement("input");
    size.type = "number";
    size.min = "1";
    size.max = String(MAX_BRUSH_SIZE);
    size.value = String(this.brushSize);
    size.title = "Brush diameter in image pixels";
    size.className = "sde-drag-brush-size";
    Object.assign(size.style, {
      width: "48px", font: "inherit", padding: "1px 2px", borderRadius: "4px",
      border: "1px solid var(--border-color, #555)", background: "var(--comfy-input-bg, #222)",
      color: "var(--input-text, #ddd)",
    });
    size.addEventListener("input", () => {
      const value = Math.round(Number(size.value));
      if (Number.isFinite(value) && value >= 1) this.brushSize = Math.min(value, MAX_BRUSH_SIZE);
      this.requestDraw();
    });
    for (const type of ["pointerdown", "keydown", "wheel"]) size.addEventListener(type, (event) => event.stopPropagation());
    const spacer = document.createElement("span");
    spacer.style.flex = "1 1 auto";
    const clear = makeButton("Clear", "sde-drag-clear", "Remove all drag pairs", () => this.clear());
    const clearMask = makeButton("Clear mask", "sde-drag-clear-mask", "Remove the painted mask (then the whole image may change)",
      () => this.clearMask());
    const result = makeButton("Result", "sde-drag-result", "Show the edited image of the last run over the source",
      () => this.toggleResult());
    bar.append(size, spacer, clear, clearMask, result);

    const info = document.createElement("div");
    info.className = "sde-drag-info";
    Object.assign(info.style, { flex: "0 0 auto", minWidth: "0", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" });

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
    root.append(bar, info, stage);

    canvas.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    canvas.addEventListener("pointermove", (event) => this.onPointerMove(event));
    canvas.addEventListener("pointerup", (event) => this.onPointerUp(event));
    canvas.addEventListener("pointercancel", (event) => this.onPointerUp(event));
    canvas.addEventListener("pointerleave", () => {
      this.cursor = null;
      this.setHover(null);
      this.requestDraw();
    });
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
    this.clearMaskButton = clearMask;
    this.resultButton = result;
    this.updateTools();
    if (typeof ResizeObserver === "function") {
      this.resizeObserver = new ResizeObserver(() => this.requestDraw());
      this.resizeObserver.observe(stage);
    }
  }

  dispose() {
    this.resizeObserver?.disconnect();
    this.resizeObserver = null;
    cancelAnimationFrame(this.frame);
    editors.delete(this);
    if (!undoOrRedoRunning()) runFiles.delete(runFilesKey(this.node));
  }

  /** The image the node published or returned on its last run, { filename, subfolder, type }, or null. */
  get executedFile() {
    return runFilesOf(this.node).image;
  }

  setTool(tool) {
    this.tool = tool;
    this.drag = null;
    this.setHover(null);
    this.updateTools();
    this.requestDraw();
  }

  updateTools() {
    for (const [tool, button] of Object.entries(this.toolButtons)) {
      const active = tool === this.tool;
      button.setAttribute("aria-pressed", String(active));
      button.style.background = active ? "var(--p-primary-color, #3d6fb6)" : "var(--comfy-input-bg, #222)";
    }
    this.canvas.style.cursor = this.tool === "points" ? "crosshair" : "none"; // the brush draws its own outline
  }

  // ---- the drag_points widget --------------------------------------------------------------------------
  widget(name) {
    return this.node.widgets?.find((widget) => widget.name === name) ?? null;
  }

  textWidget() {
    return this.widget(TEXT_WIDGET);
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
   * Writes the editor's pairs into the drag_points widget (its callback fires as for a typed edit) and makes the
   * edit a step of the workflow's undo history.
   */
  commit() {
    const widget = this.textWidget();
    const text = serializeDragPoints(this.state);
    this.lastText = text;
    if (widget && widget.value !== text) widget.value = text;
    this.recordHistoryStep();
  }

  /**
   * The canvas takes the pointer events, so the frontend's own check after a mouse-up never sees an editor edit:
   * record it in the workflow's undo history here (captureCanvasState from frontend 1.4x on, checkState before).
   */
  recordHistoryStep() {
    this.node.setDirtyCanvas?.(true, true);
    const tracker = app.extensionManager?.workflow?.activeWorkflow?.changeTracker;
    if (typeof tracker?.captureCanvasState === "function") tracker.captureCanvasState();
    else tracker?.checkState?.();
    this.requestDraw();
  }

  clear() {
    if (this.textIsLinked()) return;
    this.state = clearPairs();
    this.error = null;
    this.drag = null;
    this.commit();
  }

  // ---- the painted mask (editor_mask widget) -------------------------------------------------------------
  /** Re-reads the editor_mask text when it changed since the editor last read or wrote it (undo, reload). */
  syncMaskFromWidget(force = false) {
    const widget = this.widget(MASK_WIDGET);
    if (!widget || this.stroke) return;
    const text = widget.value == null ? "" : String(widget.value);
    if (!force && text === this.lastMaskText) return;
    this.lastMaskText = text;
    const { mask, error } = decodeMask(text);
    this.mask = mask;
    this.maskError = error;
    this.requestDraw();
  }

  /** Writes the painted mask into editor_mask ("" when nothing is painted) as one step of the undo history. */
  commitMask() {
    const widget = this.widget(MASK_WIDGET);
    const text = encodeMask(this.mask);
    if (text === "") this.mask = null; // all erased: no mask, the whole image may change
    this.lastMaskText = text;
    if (widget && widget.value !== text) widget.value = text;
    this.recordHistoryStep();
  }

  clearMask() {
    if (this.maskIsLinked()) return;
    this.mask = null;
    this.maskError = null;
    this.commitMask();
  }

  maskIsLinked() {
    const slot = this.node.inputs?.findIndex((input) => input.name === MASK_INPUT) ?? -1;
    return slot >= 0 && this.node.inputs[slot].link != null;
  }

  /** What is wrong with the painted mask (its text, or its size against the image's), or null. */
  maskProblem() {
    if (this.maskError) return `${this.maskError} (press Clear mask)`;
    if (!this.image || !this.mask) return null;
    const { naturalWidth: width, naturalHeight: height } = this.image;
    if (this.mask.width === width && this.mask.height === height) return null;
    return `editor_mask was painted on a ${this.mask.width}\u00d7${this.mask.height} image, this one is ${width}\u00d7${height} (press Clear mask)`;
  }

  /** Why the brush cannot paint now, or null when it can. */
  brushBlocked() {
    if (this.maskIsLinked()) return "the mask comes from the mask input (read-only here)";
    if (!this.image) return "no image yet";
    return this.maskProblem();
  }

  /**
   * The mask to show, with its tint: the connected one while the mask input is linked (at any size: a mask may
   * also come at the latent's size), else the painted one when it has the image's size.
   */
  shownMask() {
    if (this.maskIsLinked()) return { mask: this.linkedMask.mask, tint: OVERLAY.linked };
    return { mask: this.maskProblem() ? null : this.mask, tint: OVERLAY.painted };
  }

  // ---- the source image and the connected mask -----------------------------------------------------------
  /**
   * The node and output slot that feed input `name`, looking through Reroutes and bypassed nodes (a bypassed
   * node passes on its first input of the same `type`): { node, kind, slot } or null.
   */
  upstreamSource(name, type) {
    let node = this.node;
    let slot = node.inputs?.findIndex((input) => input.name === name) ?? -1;
    for (let hop = 0; hop < MAX_UPSTREAM_HOPS; hop++) {
      if (slot < 0 || node.inputs?.[slot]?.link == null) return null;
      const upstream = node.getInputNode?.(slot);
      const link = node.getInputLink?.(slot);
      if (!upstream || !link) return null;
      const kind = upstream.comfyClass ?? upstream.type;
      if (kind === "Reroute") {
        slot = 0;
      } else if (upstream.mode === BYPASS_MODE) {
        slot = upstream.inputs?.findIndex((input) => input.type === type) ?? -1;
      } else {
        return { node: upstream, kind, slot: link.origin_slot };
      }
      node = upstream;
    }
    return null;
  }

  /** The /view file of a core loader's `image` widget, or null. */
  loaderFile(loader, kind) {
    const widget = loader.widgets?.find((w) => w.name === "image");
    return parseImageWidgetValue(widget?.value, IMAGE_LOADERS[kind]);
  }

  /** { url, label } of the image to show, or null. */
  resolveImage() {
    const source = this.upstreamSource(IMAGE_INPUT, "IMAGE");
    if (source && source.kind in IMAGE_LOADERS) {
      const file = this.loaderFile(source.node, source.kind);
      if (file) return { url: api.apiURL(`/view?${viewQuery(file)}`), label: file.filename };
    }
    if (this.executedFile) {
      return { url: api.apiURL(`/view?${viewQuery(this.executedFile)}`), label: "last run" };
    }
    return null;
  }

  /** Loads the image when its source changed; cheap when nothing did (called on every frame). */
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
    loadImage(url, (image) => {
      if (this.imageUrl !== url) return;
      this.image = image;
      this.requestDraw();
      this.node.setDirtyCanvas?.(true, false);
    }, () => {
      if (this.imageUrl !== url) return;
      this.image = null;
      this.imageError = `cannot load ${this.imageLabel}`;
      this.requestDraw();
    });
  }

  /**
   * { url, fromAlpha } of the connected mask: LoadImage's MASK is 1 - alpha of its file (the /view route gives the
   * alpha channel alone with channel=a); any other mask is known once the node has run and published it.
   */
  resolveLinkedMask() {
    if (!this.maskIsLinked()) return null;
    const source = this.upstreamSource(MASK_INPUT, "MASK");
    if (source?.kind === "LoadImage" && source.node.outputs?.[source.slot]?.type === "MASK") {
      const file = this.loaderFile(source.node, source.kind);
      if (file) return { url: api.apiURL(`/view?${viewQuery(file)}&channel=a`), fromAlpha: true };
    }
    const published = runFilesOf(this.node).mask;
    if (published) return { url: api.apiURL(`/view?${viewQuery(published)}`), fromAlpha: false };
    return null;
  }

  /** Loads and decodes the connected mask when its source changed (called on every frame). */
  refreshLinkedMask() {
    const source = this.resolveLinkedMask();
    const url = source?.url ?? null;
    if (url === this.linkedMask.url) return;
    this.linkedMask = { url, mask: null, error: null };
    this.requestDraw();
    if (!url) return;
    loadImage(url, (image) => {
      if (this.linkedMask.url !== url) return;
      const canvas = document.createElement("canvas");
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(image, 0, 0);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      this.linkedMask.mask = maskFromPixels(pixels, canvas.width, canvas.height, source.fromAlpha);
      this.requestDraw();
    }, () => {
      if (this.linkedMask.url !== url) return;
      this.linkedMask.error = "cannot load the connected mask";
      this.requestDraw();
    });
  }

  /** The node's UI output: the source image under its own key (not `images`, which the frontend draws). */
  onExecuted(message) {
    const file = message?.[EDITOR_IMAGE_KEY]?.[0];
    if (file?.filename) runFilesOf(this.node).image = viewFile(file);
  }

  /** The node's websocket message as it starts running: its image and connected mask, before any result. */
  onPublished(detail) {
    if (detail?.image?.filename) runFilesOf(this.node).image = viewFile(detail.image);
    if (detail?.mask?.filename) runFilesOf(this.node).mask = viewFile(detail.mask);
  }

  // ---- the result ----------------------------------------------------------------------------------------
  /** An `executed` message of any node: the first image of an image output downstream of this node's latent. */
  onGraphExecuted(node, output) {
    const file = output?.images?.[0];
    if (file?.filename && downstreamNodes(this.node, MAX_DOWNSTREAM_HOPS).has(node)) {
      runFilesOf(this.node).result = viewFile({ type: "output", ...file });
    }
  }

  /** Loads the result when a run brought a new one (called on every frame); the last one stays until then. */
  refreshResult() {
    const file = runFilesOf(this.node).result;
    const url = file ? api.apiURL(`/view?${viewQuery(file)}`) : null;
    if (url === this.result.url) return;
    this.result = { url, image: url ? this.result.image : null };
    if (!url) return;
    loadImage(url, (image) => {
      if (this.result.url !== url) return;
      this.result.image = image;
      this.requestDraw();
    }, () => {});
  }

  toggleResult() {
    this.showResult = !this.showResult && !!this.result.image;
    this.requestDraw();
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
    if (this.tool !== "points") {
      this.startStroke(event);
      return;
    }
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
    this.cursor = [cx, cy];
    if (this.stroke && this.stroke.pointerId === event.pointerId) {
      event.preventDefault();
      event.stopPropagation();
      this.continueStroke(canvasToImagePosition(layout, cx, cy));
      return;
    }
    if (this.tool !== "points") {
      this.requestDraw(); // the brush outline follows the pointer
      return;
    }
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
    if (this.stroke && this.stroke.pointerId === event.pointerId) {
      event.stopPropagation();
      this.canvas.releasePointerCapture?.(event.pointerId);
      this.stroke = null;
      this.commitMask(); // one history step per stroke
      return;
    }
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

  /** Brush down: paints (Brush) or erases (Erase) a disc, then follows the pointer until it is released. */
  startStroke(event) {
    event.preventDefault();
    event.stopPropagation();
    const layout = this.layout();
    if (!layout || this.brushBlocked()) return;
    if (!this.mask) this.mask = emptyMask(this.image.naturalWidth, this.image.naturalHeight);
    const [cx, cy] = this.eventPos(event);
    const point = canvasToImagePosition(layout, cx, cy);
    this.stroke = { value: this.tool === "brush" ? 1 : 0, last: point, pointerId: event.pointerId };
    this.canvas.setPointerCapture?.(event.pointerId);
    this.continueStroke(point);
  }

  continueStroke(point) {
    const box = paintSegment(this.mask, this.stroke.last, point, this.brushSize, this.stroke.value);
    this.stroke.last = point;
    if (box && this.overlay?.mask === this.mask) this.updateOverlay(box);
    this.requestDraw();
  }

  setHover(ref) {
    const same = ref && this.hover ? ref.pair === this.hover.pair && ref.role === this.hover.role : ref === this.hover;
    if (same) return;
    this.hover = ref;
    if (this.tool === "points") this.canvas.style.cursor = ref ? "move" : "crosshair";
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
    if (this.showResult) return { text: `${n} pair${n === 1 ? "" : "s"} \u00b7 ${size} \u00b7 result of the last run (press Result for the source)`, error: false };
    const linked = this.maskIsLinked();
    const problem = linked ? this.linkedMask.error : this.maskProblem();
    if (problem) return { text: problem, error: true };
    let what;
    if (this.tool !== "points") {
      what = this.brushBlocked() ?? `${this.tool === "brush" ? "paint" : "erase"} the editable area (brush ${this.brushSize} px)`;
    } else {
      const pending = pendingIndex(this.state);
      what = pending >= 0 ? `pair ${pending + 1}: click its target`
        : n === 0 ? "click a handle, then its target" : "drag to move \u00b7 right-click deletes";
    }
    const mask = linked ? (this.linkedMask.mask ? " \u00b7 mask input" : " \u00b7 mask input (shown after a run)")
      : this.mask ? " \u00b7 painted mask" : "";
    return { text: `${n} pair${n === 1 ? "" : "s"} \u00b7 ${size}${mask} \u00b7 ${what}`, error: false };
  }

  draw() {
    const status = this.statusText();
    this.info.textContent = status.text;
    this.info.title = status.text;
    this.info.style.color = status.error ? "#ff6b6b" : "";
    this.clearButton.disabled = this.textIsLinked();
    this.clearMaskButton.disabled = this.maskIsLinked() || (!this.mask && !this.maskError);
    this.resultButton.disabled = !this.result.image;
    this.resultButton.setAttribute("aria-pressed", String(this.showResult));
    this.resultButton.style.background = this.showResult ? "var(--p-primary-color, #3d6fb6)" : "var(--comfy-input-bg, #222)";

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
        : ["Connect a LoadImage node to \u201cimage\u201d", "or queue once (no pairs needed) to show its image"];
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
    if (this.showResult && this.result.image) {
      this.drawResult(ctx, layout);
    } else {
      this.drawMask(ctx, layout);
    }
    this.state.pairs.forEach((pair, index) => this.drawPair(ctx, layout, pair, index));
    if (this.tool !== "points" && this.cursor && !this.showResult && !this.brushBlocked()) this.drawBrush(ctx, layout);
  }

  /** The edited image where it lies on the source (VAE Encode's crop, or stretched over it). */
  drawResult(ctx, layout) {
    const downscale = Number(this.widget(DOWNSCALE_WIDGET)?.value) || 8;
    const image = this.result.image;
    const place = resultPlacement(layout.imageWidth, layout.imageHeight, image.naturalWidth, image.naturalHeight, downscale);
    ctx.drawImage(image, layout.offsetX + place.x * layout.scale, layout.offsetY + place.y * layout.scale,
      place.width * layout.scale, place.height * layout.scale);
  }

  /** The shown mask, stretched over the image. */
  drawMask(ctx, layout) {
    const { mask, tint } = this.shownMask();
    if (!mask) return;
    if (this.overlay?.mask !== mask || this.overlay.tint !== tint) this.buildOverlay(mask, tint);
    ctx.save();
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.overlay.canvas, layout.offsetX, layout.offsetY, layout.drawWidth, layout.drawHeight);
    ctx.restore();
  }

  /** The mask as an image-size canvas, redrawn part by part while a stroke paints (updateOverlay). */
  buildOverlay(mask, tint) {
    const canvas = document.createElement("canvas");
    canvas.width = mask.width;
    canvas.height = mask.height;
    const context = canvas.getContext("2d");
    const pixels = context.createImageData(mask.width, mask.height);
    writeOverlay(mask, pixels.data, tint, OVERLAY.kept);
    context.putImageData(pixels, 0, 0);
    this.overlay = { mask, tint, canvas, context, pixels };
  }

  updateOverlay(box) {
    const { mask, tint, context, pixels } = this.overlay;
    writeOverlay(mask, pixels.data, tint, OVERLAY.kept, box);
    context.putImageData(pixels, 0, 0, box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
  }

  drawBrush(ctx, layout) {
    const [x, y] = this.cursor;
    ctx.save();
    ctx.beginPath();
    ctx.arc(x, y, Math.max(1, (this.brushSize / 2) * layout.scale), 0, Math.PI * 2);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = COLORS.outline;
    ctx.stroke();
    ctx.setLineDash(this.tool === "erase" ? [3, 3] : []);
    ctx.lineWidth = 1;
    ctx.strokeStyle = COLORS.brush;
    ctx.stroke();
    ctx.restore();
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

function makeButton(label, className, title, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.title = title;
  button.className = className;
  Object.assign(button.style, {
    font: "inherit", padding: "2px 7px", cursor: "pointer", borderRadius: "4px", whiteSpace: "nowrap",
    border: "1px solid var(--border-color, #555)", background: "var(--comfy-input-bg, #222)",
    color: "var(--input-text, #ddd)",
  });
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick();
  });
  return button;
}

function loadImage(url, onLoad, onError) {
  const image = new Image();
  image.onload = () => onLoad(image);
  image.onerror = onError;
  image.src = url;
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

/**
 * editor_mask is the editor's data, not for typing: hidden in the node, in the canvas layout and in the "Vue
 * nodes" and properties panels of every frontend this pack supports. `hidden` and `options.hidden` are read from
 * frontend 1.3x on; 1.27 still lays out hidden widgets, and a zero height (computeSize) keeps it from leaving a gap.
 */
function hideWidget(widget) {
  widget.hidden = true;
  widget.options.hidden = true; // the same object the 1.4x widget store holds: mutated, not replaced
  widget.computeSize = () => [0, -4];
}

/**
 * The preset runs a fixed step count (nodes/sde_drag.py PRESETS): show it in `steps` when the preset is chosen
 * or the workflow loads, and switch to "custom" when `steps` is edited to another count.
 */
function linkPresetToSteps(node) {
  const preset = node.widgets?.find((widget) => widget.name === PRESET_WIDGET);
  const steps = node.widgets?.find((widget) => widget.name === STEPS_WIDGET);
  if (!preset || !steps) return () => {};
  const showPresetSteps = () => {
    const value = stepsForPreset(preset.value, steps.value);
    if (steps.value !== value) steps.value = value;
  };
  chain(preset, "callback", showPresetSteps);
  chain(steps, "callback", () => {
    const value = presetAfterStepsEdit(preset.value, steps.value);
    if (preset.value !== value) preset.value = value;
  });
  return showPresetSteps;
}

app.registerExtension({
  name: "SDEEdit.SDEDragPointEditor",

  setup() {
    api.addEventListener(EDITOR_IMAGE_EVENT, ({ detail }) => {
      nodeByExecutionId(app.graph, detail?.node)?.sdeDragEditor?.onPublished(detail);
    });
    api.addEventListener("executed", ({ detail }) => {
      if (!detail?.output?.images?.length || editors.size === 0) return;
      const node = nodeByExecutionId(app.graph, detail.node);
      if (node) for (const editor of editors) editor.onGraphExecuted(node, detail.output);
    });
  },

  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData?.name !== NODE_CLASS) return;
    const proto = nodeType.prototype;

    chain(proto, "onNodeCreated", function () {
      const mask = this.widgets?.find((widget) => widget.name === MASK_WIDGET);
      if (mask) hideWidget(mask);
      this.sdeShowPresetSteps = linkPresetToSteps(this);
      this.sdeShowPresetSteps();

      const editor = new DragPointEditor(this);
      this.sdeDragEditor = editor;
      const widget = this.addDOMWidget(EDITOR_WIDGET, "sde_drag_editor", editor.element, {
        serialize: false, // not part of the prompt; the pairs travel in drag_points, the mask in editor_mask
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
      editor.syncMaskFromWidget(true);
      const height = this.computeSize()[1];
      this.setSize([Math.max(this.size[0], 440), Math.max(this.size[1], height + 140)]);
    });

    chain(proto, "onConfigure", function () {
      this.sdeShowPresetSteps?.();
      this.sdeDragEditor?.syncFromWidget(true);
      this.sdeDragEditor?.syncMaskFromWidget(true);
      this.sdeDragEditor?.refreshImage();
    });

    chain(proto, "onExecuted", function (message) {
      this.sdeDragEditor?.onExecuted(message);
    });

    chain(proto, "onConnectionsChange", function () {
      this.sdeDragEditor?.refreshImage();
      this.sdeDragEditor?.requestDraw();
    });

    chain(proto, "onRemoved", function () {
      this.sdeDragEditor?.dispose();
    });
  },

  loadedGraphNode(node) {
    if ((node.comfyClass ?? node.type) !== NODE_CLASS) return;
    node.sdeDragEditor?.syncFromWidget(true);
    node.sdeDragEditor?.syncMaskFromWidget(true);
    node.sdeDragEditor?.refreshImage();
  },
});
