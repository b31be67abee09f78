// Pointer input of the SDE-Drag editor's canvas: clicks place handles and targets, a drag moves a point, a
// right-click deletes a pair, the brush paints while the button is down; the wheel and the middle button go on to
// the graph (zoom and pan). The canvas keeps the events it uses from the graph and from "Vue nodes"' own node
// dragging. No ComfyUI imports, no side effects on import: the editor hands in the graph canvas.
import { addPoint, canvasToImage, canvasToImagePosition, deletePair, hitTest, isOnImage, movePoint } from "./drag_points.js";

export const HIT_RADIUS = 9; // canvas px

/** Event position in canvas CSS pixels (the graph's zoom is a CSS transform on the widget). */
export function eventPosition(canvas, event) {
  const rect = canvas.getBoundingClientRect();
  const sx = rect.width > 0 ? canvas.clientWidth / rect.width : 1;
  const sy = rect.height > 0 ? canvas.clientHeight / rect.height : 1;
  return [(event.clientX - rect.left) * sx, (event.clientY - rect.top) * sy];
}

/** Listens to the pointer on `editor.canvas`; `graphCanvas()` is the frontend's LGraphCanvas (or null). */
export function attachPointerInput(editor, graphCanvas) {
  const canvas = editor.canvas;
  const keep = (event) => {
    event.preventDefault();
    event.stopPropagation();
  };
  /** The middle button pans the graph: a middle-button event goes to LiteGraph's handler `name`. */
  const panThrough = (event, name) => {
    const middle = event.type === "pointermove" ? (event.buttons & 4) === 4 : event.button === 1;
    if (middle) graphCanvas()?.[name]?.(event);
    return middle;
  };

  canvas.addEventListener("pointerdown", (event) => {
    if (panThrough(event, "processMouseDown") || event.button !== 0) return;
    keep(event);
    const layout = editor.layout();
    const [cx, cy] = eventPosition(canvas, event);
    if (editor.tool !== "points") {
      const imageSize = editor.imageSize();
      if (!layout || editor.painting.blocked(editor.maskIsLinked(), imageSize)) return;
      editor.painting.startStroke(canvasToImagePosition(layout, cx, cy), editor.tool === "brush" ? 1 : 0,
        editor.brushSize, imageSize, event.pointerId);
      canvas.setPointerCapture?.(event.pointerId);
      editor.requestDraw();
      return;
    }
    if (!layout || !editor.editable()) return;
    const hit = hitTest(editor.state, layout, cx, cy, HIT_RADIUS);
    if (hit) {
      editor.drag = { ref: { pair: hit.pair, role: hit.role }, pointerId: event.pointerId };
      canvas.setPointerCapture?.(event.pointerId);
      editor.requestDraw();
    } else if (isOnImage(layout, cx, cy)) {
      editor.state = addPoint(editor.state, canvasToImage(layout, cx, cy));
      editor.commitPoints();
    }
  });

  canvas.addEventListener("pointermove", (event) => {
    if (panThrough(event, "processMouseMove")) return;
    const layout = editor.layout();
    if (!layout) return;
    const [cx, cy] = eventPosition(canvas, event);
    editor.cursor = [cx, cy];
    const stroke = editor.painting.stroke;
    if (stroke && stroke.pointerId === event.pointerId) {
      keep(event);
      editor.painting.continueStroke(canvasToImagePosition(layout, cx, cy), editor.brushSize);
      editor.requestDraw();
    } else if (editor.tool !== "points") {
      editor.requestDraw(); // the brush outline follows the pointer
    } else if (editor.drag && editor.drag.pointerId === event.pointerId) {
      keep(event);
      editor.state = movePoint(editor.state, editor.drag.ref, canvasToImage(layout, cx, cy));
      editor.requestDraw();
    } else {
      const hit = editor.editable() ? hitTest(editor.state, layout, cx, cy, HIT_RADIUS) : null;
      editor.setHover(hit ? { pair: hit.pair, role: hit.role } : null);
    }
  });

  const release = (event) => {
    if (panThrough(event, "processMouseUp")) return;
    const stroke = editor.painting.stroke;
    if (stroke && stroke.pointerId === event.pointerId) {
      event.stopPropagation();
      canvas.releasePointerCapture?.(event.pointerId);
      editor.painting.endStroke();
      editor.commitMask(); // one history step per stroke
    } else if (editor.drag && editor.drag.pointerId === event.pointerId) {
      event.stopPropagation();
      canvas.releasePointerCapture?.(event.pointerId);
      editor.drag = null;
      editor.commitPoints();
    }
  };
  canvas.addEventListener("pointerup", release);
  canvas.addEventListener("pointercancel", release);
  canvas.addEventListener("pointerleave", () => {
    editor.cursor = null;
    editor.setHover(null);
    editor.requestDraw();
  });

  canvas.addEventListener("contextmenu", (event) => {
    keep(event);
    const layout = editor.layout();
    if (!layout || !editor.editable()) return;
    const [cx, cy] = eventPosition(canvas, event);
    const hit = hitTest(editor.state, layout, cx, cy, HIT_RADIUS);
    if (!hit) return;
    editor.state = deletePair(editor.state, hit.pair);
    editor.hover = null;
    editor.commitPoints();
  });

  canvas.addEventListener("wheel", (event) => { // zoom / pan the graph as over any other part of the node
    const graph = graphCanvas();
    if (typeof graph?.processMouseWheel === "function") {
      event.preventDefault();
      graph.processMouseWheel(event);
    }
  }, { passive: false });
}
