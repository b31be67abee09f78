// The SDE-Drag point editor extension: adds the editor (drag_editor.js) to every SDE-Drag node (SDEEdit_SDEDrag)
// and tells the editors about the events they redraw on -- the node's creation, loading and connections, widget
// edits, the graph changing (the frontend's `graphChanged`, after every change its tracker records: the only time
// the editors walk the graph upstream), and the websocket messages of runs. This is the only module that imports
// ComfyUI; every other module of web/js only exports (ComfyUI loads each .js file here as a module of its own).
//
// This file sits at /extensions/<pack>/js/, so ComfyUI's scripts are three levels up.
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";

import { DragPointEditor } from "./drag_editor.js";
import { EDITOR_IMAGE_EVENT, EDITOR_IMAGE_KEY, NODE_NAMES } from "./drag_wire.js";
import { nodeByExecutionId, nodeKind } from "./editor_graph.js";
import { RunFiles } from "./editor_sources.js";
import { MIN_HEIGHT } from "./editor_view.js";
import { chain, hideWidget, linkPresetToSteps, onWidgetEdit, widgetOf } from "./editor_widgets.js";

const EDITOR_WIDGET = "drag_editor";
const TEXT_MAX_HEIGHT = 110; // the drag_points textarea: a few lines, the rest of the node goes to the canvas

/** The editors on the page (messages about other nodes, graph changes). */
const editors = new Set();
const runFiles = new RunFiles();
/** Node key -> the element of a removed node's editor that a Vue node still shows (see showInVueNode). */
const leftInVueNodes = new Map();

const comfy = {
  graphCanvas: () => app.canvas ?? null,
  changeTracker: () => app.extensionManager?.workflow?.activeWorkflow?.changeTracker ?? null,
  viewUrl: (query) => api.apiURL(`/view?${query}`),
  runFiles,
};

/** Re-reads every editor's widgets and sources (after a graph change, a load, an undo). */
function refreshAll() {
  for (const editor of editors) {
    editor.syncFromWidgets();
    editor.refreshSources();
  }
}

/** Attaches an editor to a new SDE-Drag node. */
function addEditor(node) {
  const mask = widgetOf(node, NODE_NAMES.mask);
  if (mask) hideWidget(mask);
  node.sdeShowPresetSteps = linkPresetToSteps(node);
  node.sdeShowPresetSteps();

  const editor = new DragPointEditor(node, comfy);
  node.sdeDragEditor = editor;
  editors.add(editor);
  const widget = node.addDOMWidget(EDITOR_WIDGET, "sde_drag_editor", editor.element, {
    serialize: false, // not part of the prompt; the pairs travel in drag_points, the mask in editor_mask
    hideOnZoom: false,
    getMinHeight: () => MIN_HEIGHT,
    getValue: () => undefined,
    setValue: () => {},
  });
  widget.serialize = false; // not in widgets_values either (it is the last widget: no index shift)

  onWidgetEdit(node, NODE_NAMES.points, () => editor.syncFromWidgets());
  const text = widgetOf(node, NODE_NAMES.points);
  if (text?.options && !text.options.getMaxHeight) text.options.getMaxHeight = () => TEXT_MAX_HEIGHT;
  editor.syncFromWidgets(true);
  const height = node.computeSize()[1];
  node.setSize([Math.max(node.size[0], 440), Math.max(node.size[1], height + 140)]);
}

/** The node is gone: its editor stops, and what runs told it is forgotten unless undo or redo rebuilt the node. */
function removeEditor(editor) {
  editor.dispose();
  editors.delete(editor);
  const key = editor.key;
  runFiles.forgetLater(key, (other) => [...editors].some((shown) => shown.key === other));
  if (editor.element.closest("[data-node-id]")) {
    leftInVueNodes.set(key, editor.element);
    setTimeout(() => leftInVueNodes.get(key) === editor.element && leftInVueNodes.delete(key), 0);
  }
}

/**
 * Undo, redo and a reload rebuild every node, with the same ids, in one call. A Vue node ("Nodes 2.0", frontend
 * 1.4x) whose id comes back keeps its component, and that component put the DOM widget's element into the node only
 * when it mounted: it would go on showing the removed node's editor, whose edits reach the new node's widgets through
 * the widget store (found on 1.49.6). The rebuilt node's editor takes that element's place.
 */
function showInVueNode(editor) {
  const shown = leftInVueNodes.get(editor.key);
  leftInVueNodes.delete(editor.key);
  if (shown?.isConnected && !editor.element.isConnected) shown.replaceWith(editor.element);
}

/** The configured node's editor reads its widgets and sources again (a loaded workflow, undo, redo, paste). */
function reload(node) {
  const editor = node.sdeDragEditor;
  node.sdeShowPresetSteps?.();
  if (!editor) return;
  showInVueNode(editor);
  editor.syncFromWidgets(true);
  editor.refreshSources();
}

app.registerExtension({
  name: "SDEEdit.SDEDragPointEditor",

  setup() {
    api.addEventListener("graphChanged", refreshAll);
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
    if (nodeData?.name !== NODE_NAMES.type) return;
    const proto = nodeType.prototype;
    chain(proto, "onNodeCreated", function () {
      addEditor(this);
    });
    chain(proto, "onConfigure", function () {
      reload(this);
    });
    chain(proto, "onExecuted", function (message) {
      this.sdeDragEditor?.onExecuted(message, EDITOR_IMAGE_KEY);
    });
    chain(proto, "onConnectionsChange", function () {
      this.sdeDragEditor?.refreshSources();
      this.sdeDragEditor?.requestDraw();
    });
    chain(proto, "onRemoved", function () {
      if (this.sdeDragEditor) removeEditor(this.sdeDragEditor);
    });
  },

  loadedGraphNode(node) {
    if (nodeKind(node) === NODE_NAMES.type) reload(node);
  },
});
