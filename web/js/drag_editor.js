// One SDE-Drag point editor: the state of one node's editor and the glue between its parts -- the view
// (editor_view.js), pointer input (editor_pointer.js), the node's widgets (editor_widgets.js), the pictures' sources
// (editor_sources.js, editor_graph.js) and the mask painting (editor_painting.js). It draws on events only: a
// pointer event, a widget edit, a loaded picture, a resize or a graph change asks for one draw at the next
// animation frame. The upstream walk runs in refreshSources, which the extension calls on graph changes.
// No ComfyUI imports, no side effects on import: the extension (sde_drag_editor.js) hands in `comfy` =
// { graphCanvas(), changeTracker(), viewUrl(query), runFiles (RunFiles) }.
import { clearPairs, layoutImage, serializeDragPoints, stateFromText } from "./drag_points.js";
import { NODE_NAMES } from "./drag_wire.js";
import { downstreamNodes, inputIsLinked, nodeKey } from "./editor_graph.js";
import { MaskPainting } from "./editor_painting.js";
import { attachPointerInput } from "./editor_pointer.js";
import { linkedMask, loadImage, ShownImage, sourceImage, viewFile, viewQueryOf } from "./editor_sources.js";
import { buildEditorDom, drawScene, showStatus, statusLine } from "./editor_view.js";
import { recordHistoryStep, widgetOf, widgetText, writeWidget } from "./editor_widgets.js";

const MAX_DOWNSTREAM_HOPS = 8; // SDE-Drag -> VAEDecode -> PreviewImage is 2; leaves room for reroutes
const DEFAULT_BRUSH_SIZE = 24; // image px

export class DragPointEditor {
  constructor(node, comfy) {
    this.node = node;
    this.comfy = comfy;
    this.state = { pairs: [] };
    this.error = null; // message while the drag_points text does not parse
    this.text = null; // drag_points text last read or written by the editor
    this.drag = null; // { ref: { pair, role }, pointerId }
    this.hover = null;
    this.tool = "points";
    this.brushSize = DEFAULT_BRUSH_SIZE;
    this.cursor = null; // [cx, cy] of the pointer over the canvas, for the brush outline
    this.painting = new MaskPainting();
    this.source = new ShownImage(() => this.requestDraw());
    this.result = new ShownImage(() => this.requestDraw(), true); // the edited image of the last run, downstream
    this.showResult = false;
    this.drawPending = false;
    this.dom = buildEditorDom(this.brushSize, {
      tool: (tool) => this.setTool(tool),
      brushSize: (size) => { this.brushSize = size; this.requestDraw(); },
      clear: () => this.clear(),
      clearMask: () => this.clearMask(),
      result: () => { this.showResult = !this.showResult && !!this.result.image; this.requestDraw(); },
    });
    this.element = this.dom.root;
    this.canvas = this.dom.canvas;
    this.info = this.dom.info;
    attachPointerInput(this, comfy.graphCanvas);
    this.resizeObserver = typeof ResizeObserver === "function" ? new ResizeObserver(() => this.requestDraw()) : null;
    this.resizeObserver?.observe(this.dom.stage);
  }

  // the pictures, as the tests and the status line read them
  get image() { return this.source.image; }
  get imageUrl() { return this.source.url; }
  get imageLabel() { return this.source.label; }
  get mask() { return this.painting.mask; }
  get linkedMask() { return this.painting.linkedMask; }
  get runFiles() { return this.comfy.runFiles.of(this.node); }
  /** The image the node published or returned on its last run, { filename, subfolder, type }, or null. */
  get executedFile() { return this.runFiles.image; }

  /** The node's key in the run files (editor_graph.js nodeKey), as last seen while the node was in a graph. */
  get key() {
    if (this.node.graph) this.lastKey = nodeKey(this.node);
    return this.lastKey;
  }

  imageSize() {
    return this.image ? [this.image.naturalWidth, this.image.naturalHeight] : null;
  }

  layout() {
    const size = this.imageSize();
    return size && layoutImage(this.canvas.clientWidth, this.canvas.clientHeight, size[0], size[1]);
  }

  textIsLinked() {
    return !!this.node.inputs?.some((input) => input.widget?.name === NODE_NAMES.points && input.link != null);
  }

  maskIsLinked() {
    return inputIsLinked(this.node, NODE_NAMES.maskInput);
  }

  editable() {
    return !this.error && !this.textIsLinked();
  }

  dispose() {
    this.resizeObserver?.disconnect();
  }

  // ---- the widgets ---------------------------------------------------------------------------------------
  /** Reads drag_points and editor_mask when they changed since the editor last read or wrote them (or `force`). */
  syncFromWidgets(force = false) {
    const text = widgetText(this.node, NODE_NAMES.points);
    if (force || text !== this.text) {
      this.text = text;
      const { state, error } = stateFromText(text);
      this.error = error;
      if (state) this.state = state; // a pending handle is dropped: the text is the truth
      this.drag = null;
      this.requestDraw();
    }
    if (this.painting.read(widgetText(this.node, NODE_NAMES.mask), force)) this.requestDraw();
  }

  /** Writes the pairs into drag_points (complete pairs only) as a step of the undo history. */
  commitPoints() {
    this.text = serializeDragPoints(this.state);
    writeWidget(this.node, NODE_NAMES.points, this.text);
    this.recordEdit();
  }

  /** Writes the painted mask into editor_mask as a step of the undo history. */
  commitMask() {
    writeWidget(this.node, NODE_NAMES.mask, this.painting.written());
    this.recordEdit();
  }

  recordEdit() {
    recordHistoryStep(this.node, this.comfy.changeTracker());
    this.requestDraw();
  }

  clear() {
    if (this.textIsLinked()) return;
    this.state = clearPairs();
    this.error = null;
    this.drag = null;
    this.commitPoints();
  }

  clearMask() {
    if (this.maskIsLinked()) return;
    this.painting.clear();
    this.commitMask();
  }

  setTool(tool) {
    this.tool = tool;
    this.drag = null;
    this.setHover(null);
    this.requestDraw();
  }

  setHover(ref) {
    const same = ref && this.hover ? ref.pair === this.hover.pair && ref.role === this.hover.role : ref === this.hover;
    if (same) return;
    this.hover = ref;
    this.requestDraw();
  }

  // ---- the pictures ----------------------------------------------------------------------------------------
  /** Looks up the source image and the connected mask upstream (the graph walk) and loads what changed. */
  refreshSources() {
    const image = sourceImage(this.node, NODE_NAMES.image, this.runFiles);
    this.source.show(image && this.comfy.viewUrl(viewQueryOf(image.file)), image?.label);
    const mask = linkedMask(this.node, NODE_NAMES.maskInput, this.runFiles);
    this.painting.showLinked(mask && { url: this.comfy.viewUrl(viewQueryOf(mask.file, mask.fromAlpha)), fromAlpha: mask.fromAlpha },
      loadImage, () => this.requestDraw());
    const result = this.runFiles.result;
    this.result.show(result && this.comfy.viewUrl(viewQueryOf(result)));
  }

  /** The node's UI output: the source image under its own key (not `images`, which the frontend draws). */
  onExecuted(message, imageKey) {
    const file = message?.[imageKey]?.[0];
    if (file?.filename) this.runFiles.image = viewFile(file);
    this.refreshSources();
  }

  /** The node's websocket message as it starts running: its image and connected mask, before any result. */
  onPublished(detail) {
    if (detail?.image?.filename) this.runFiles.image = viewFile(detail.image);
    if (detail?.mask?.filename) this.runFiles.mask = viewFile(detail.mask);
    this.refreshSources();
  }

  /** An `executed` message of `node`: the first image of an image output downstream of this node's latent. */
  onGraphExecuted(node, output) {
    const file = output?.images?.[0];
    if (!file?.filename || !downstreamNodes(this.node, MAX_DOWNSTREAM_HOPS).has(node)) return;
    this.runFiles.result = viewFile(file, "output");
    this.refreshSources();
  }

  // ---- drawing ---------------------------------------------------------------------------------------------
  /** Draws at the next animation frame (several requests before it draw once). */
  requestDraw() {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => {
      this.drawPending = false;
      if (this.element.isConnected) this.draw();
    });
  }

  draw() {
    const imageSize = this.imageSize();
    const linked = this.maskIsLinked();
    const blocked = this.painting.blocked(linked, imageSize);
    const facts = {
      linkedText: this.textIsLinked(), textError: this.error, imageError: this.source.error, imageSize,
      pairs: this.state.pairs, showResult: this.showResult, tool: this.tool, brushSize: this.brushSize, brushBlocked: blocked,
      maskLinked: linked, linkedMaskShown: !!this.linkedMask.mask, maskPainted: !!this.mask,
      maskProblem: linked ? this.linkedMask.error : this.painting.problem(imageSize),
    };
    showStatus(this.dom, statusLine(facts), {
      tool: this.tool, canClear: !facts.linkedText, canClearMask: !linked && !!(this.mask || this.painting.error),
      hasResult: !!this.result.image, showResult: this.showResult,
    });
    this.canvas.style.cursor = this.tool !== "points" ? "none" : this.hover ? "move" : "crosshair";
    const layout = this.layout();
    const showResult = this.showResult && this.result.image;
    const isActive = (ref, index, role) => ref?.pair === index && ref.role === role;
    drawScene(this.canvas, {
      layout, image: this.image, dimmed: !!this.error,
      hint: this.source.error ? [this.source.error]
        : ["Connect a LoadImage node to \u201cimage\u201d", "or queue once (no pairs needed) to show its image"],
      result: showResult ? { image: this.result.image, downscale: Number(widgetOf(this.node, NODE_NAMES.downscale)?.value) || 8 } : null,
      overlay: showResult ? null : this.painting.overlayCanvas(linked, imageSize),
      pairs: this.state.pairs,
      active: (index, role) => isActive(this.drag?.ref, index, role) || isActive(this.hover, index, role),
      brush: this.tool !== "points" && this.cursor && layout && !this.showResult && !blocked
        ? { at: this.cursor, radius: (this.brushSize / 2) * layout.scale, erase: this.tool === "erase" } : null,
    });
  }
}
