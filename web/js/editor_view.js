// The SDE-Drag editor's view: its DOM (toolbar, status line, canvas) and the drawing of the canvas from the
// editor's state. No ComfyUI imports and no side effects on import (ComfyUI also loads this file on its own as an
// extension module); statusLine is pure and unit-tested (web/tests/editor_view.test.mjs).
import { completeCount, imageToCanvas, pendingIndex, pointsOutside, resultPlacement } from "./drag_points.js";

export const MIN_HEIGHT = 230; // editor (toolbar + status + canvas) in graph units
export const MAX_BRUSH_SIZE = 512;
export const POINT_RADIUS = 5;
const TOOLS = {
  points: ["Points", "Click a handle, then its target; drag a point to move it"],
  brush: ["Brush", "Paint the area that may change (the rest of the image stays exactly as it is)"],
  erase: ["Erase", "Erase painted area"],
};
const COLORS = {
  background: "#1b1b1b", handle: "#ff4d4d", target: "#3d9bff", arrow: "#ffd84d", outline: "rgba(0, 0, 0, 0.85)",
  text: "#ffffff", hint: "#9a9a9a", brush: "#ffffff", error: "#ff6b6b",
};
const ACTIVE = "var(--p-primary-color, #3d6fb6)";
const INACTIVE = "var(--comfy-input-bg, #222)";

/**
 * The status line from plain facts: { linkedText, textError, imageError, imageSize: [w, h] | null, pairs (editor
 * state pairs), showResult, tool, brushSize, brushBlocked, maskLinked, linkedMaskShown, maskPainted, maskProblem }.
 * Returns { text, error }.
 */
export function statusLine(facts) {
  if (facts.linkedText) return { text: "drag_points comes from a link: the editor only shows it", error: false };
  if (facts.textError) return { text: `${facts.textError} (fix the text or press Clear)`, error: true };
  if (facts.imageError) return { text: facts.imageError, error: true };
  if (!facts.imageSize) return { text: "no image yet", error: false };
  const [width, height] = facts.imageSize;
  const n = completeCount({ pairs: facts.pairs });
  const pairs = `${n} pair${n === 1 ? "" : "s"}`;
  const size = `${width}\u00d7${height}`;
  const outside = pointsOutside(facts.pairs, width, height);
  if (outside.length) return { text: `${outside.length} point(s) outside the ${size} image: ${outside.join(", ")}`, error: true };
  if (facts.showResult) return { text: `${pairs} \u00b7 ${size} \u00b7 result of the last run (press Result for the source)`, error: false };
  if (facts.maskProblem) return { text: facts.maskProblem, error: true };
  let what;
  if (facts.tool !== "points") {
    what = facts.brushBlocked ?? `${facts.tool === "brush" ? "paint" : "erase"} the editable area (brush ${facts.brushSize} px)`;
  } else {
    const pending = pendingIndex({ pairs: facts.pairs });
    what = pending >= 0 ? `pair ${pending + 1}: click its target` : n === 0 ? "click a handle, then its target"
      : "drag to move \u00b7 right-click deletes";
  }
  const mask = facts.maskLinked ? (facts.linkedMaskShown ? " \u00b7 mask input" : " \u00b7 mask input (shown after a run)")
    : facts.maskPainted ? " \u00b7 painted mask" : "";
  return { text: `${pairs} \u00b7 ${size}${mask} \u00b7 ${what}`, error: false };
}

/**
 * The editor's DOM. `on` = { tool(name), brushSize(value), clear(), clearMask(), result() }. Returns { root,
 * canvas, info, stage, buttons: { points, brush, erase, clear, clearMask, result }, sizeInput }.
 */
export function buildEditorDom(brushSize, on) {
  const root = element("div", "sde-drag-editor", {
    // height: LiteGraph sizes the widget (MIN_HEIGHT and up, less its margins); min-height keeps the canvas visible
    // where the browser lays the node out instead ("Vue nodes")
    display: "flex", flexDirection: "column", gap: "4px", width: "100%", height: "100%", minHeight: `${MIN_HEIGHT - 20}px`,
    boxSizing: "border-box", font: "12px sans-serif", color: "var(--input-text, #ddd)", overflow: "hidden",
  });
  const bar = element("div", "", { display: "flex", alignItems: "center", gap: "4px", flex: "0 0 auto", minHeight: "22px" });
  const buttons = {};
  for (const [tool, [label, title]] of Object.entries(TOOLS)) {
    buttons[tool] = button(label, `sde-drag-tool-${tool}`, title, () => on.tool(tool));
  }
  const sizeInput = element("input", "sde-drag-brush-size", {
    width: "48px", font: "inherit", padding: "1px 2px", borderRadius: "4px", border: "1px solid var(--border-color, #555)",
    background: INACTIVE, color: "var(--input-text, #ddd)",
  });
  Object.assign(sizeInput, { type: "number", min: "1", max: String(MAX_BRUSH_SIZE), value: String(brushSize),
    title: "Brush diameter in image pixels" });
  sizeInput.addEventListener("input", () => {
    const value = Math.round(Number(sizeInput.value));
    if (Number.isFinite(value) && value >= 1) on.brushSize(Math.min(value, MAX_BRUSH_SIZE));
  });
  for (const type of ["pointerdown", "keydown", "wheel"]) sizeInput.addEventListener(type, (event) => event.stopPropagation());
  buttons.clear = button("Clear", "sde-drag-clear", "Remove all drag pairs", on.clear);
  buttons.clearMask = button("Clear mask", "sde-drag-clear-mask", "Remove the painted mask (then the whole image may change)",
    on.clearMask);
  buttons.result = button("Result", "sde-drag-result", "Show the edited image of the last run over the source", on.result);
  bar.append(buttons.points, buttons.brush, buttons.erase, sizeInput, element("span", "", { flex: "1 1 auto" }),
    buttons.clear, buttons.clearMask, buttons.result);
  const info = element("div", "sde-drag-info", {
    flex: "0 0 auto", minWidth: "0", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap",
  });
  const stage = element("div", "", {
    position: "relative", flex: "1 1 auto", minHeight: "0", borderRadius: "4px", overflow: "hidden", background: COLORS.background,
  });
  const canvas = element("canvas", "sde-drag-canvas", {
    position: "absolute", left: "0", top: "0", width: "100%", height: "100%", cursor: "crosshair", touchAction: "none",
    display: "block",
  });
  stage.append(canvas);
  root.append(bar, info, stage);
  return { root, canvas, info, stage, buttons, sizeInput };
}

function element(tag, className, style) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  Object.assign(node.style, style);
  return node;
}

function button(label, className, title, onClick) {
  const node = element("button", className, {
    font: "inherit", padding: "2px 7px", cursor: "pointer", borderRadius: "4px", whiteSpace: "nowrap",
    border: "1px solid var(--border-color, #555)", background: INACTIVE, color: "var(--input-text, #ddd)",
  });
  Object.assign(node, { type: "button", textContent: label, title });
  node.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick();
  });
  return node;
}

/** Marks a toggle button on or off. */
export function setPressed(node, pressed) {
  node.setAttribute("aria-pressed", String(pressed));
  node.style.background = pressed ? ACTIVE : INACTIVE;
}

/** Writes the status line and the buttons' states: status = { text, error }. */
export function showStatus(dom, status, { tool, canClear, canClearMask, hasResult, showResult }) {
  dom.info.textContent = status.text;
  dom.info.title = status.text;
  dom.info.style.color = status.error ? COLORS.error : "";
  for (const name of ["points", "brush", "erase"]) setPressed(dom.buttons[name], name === tool);
  dom.buttons.clear.disabled = !canClear;
  dom.buttons.clearMask.disabled = !canClearMask;
  dom.buttons.result.disabled = !hasResult;
  setPressed(dom.buttons.result, showResult);
}

/**
 * Draws the canvas: `scene` = { layout (drag_points.js layoutImage, or null), image, hint: [lines], dimmed,
 * result: { image, downscale } | null, overlay: canvas | null, pairs, active(index, role), brush: { at: [cx, cy],
 * radius, erase } | null }. Sizes the canvas's pixels to its CSS size times the device pixel ratio.
 */
export function drawScene(canvas, scene) {
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!(width > 0 && height > 0)) return;
  const ratio = window.devicePixelRatio || 1;
  const pixelWidth = Math.round(width * ratio);
  const pixelHeight = Math.round(height * ratio);
  if (canvas.width !== pixelWidth || canvas.height !== pixelHeight) Object.assign(canvas, { width: pixelWidth, height: pixelHeight });
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.fillStyle = COLORS.background;
  ctx.fillRect(0, 0, width, height);
  const { layout } = scene;
  if (!layout) {
    Object.assign(ctx, { fillStyle: COLORS.hint, font: "12px sans-serif", textAlign: "center", textBaseline: "middle" });
    scene.hint.forEach((line, i) => ctx.fillText(line, width / 2, height / 2 + (i - (scene.hint.length - 1) / 2) * 16));
    return;
  }
  ctx.imageSmoothingEnabled = layout.scale < 4;
  ctx.drawImage(scene.image, layout.offsetX, layout.offsetY, layout.drawWidth, layout.drawHeight);
  if (scene.dimmed) { // the text is invalid: nothing is drawn from it
    ctx.fillStyle = "rgba(0, 0, 0, 0.45)";
    ctx.fillRect(0, 0, width, height);
    return;
  }
  if (scene.result) {
    const { image, downscale } = scene.result;
    const place = resultPlacement(layout.imageWidth, layout.imageHeight, image.naturalWidth, image.naturalHeight, downscale);
    ctx.drawImage(image, layout.offsetX + place.x * layout.scale, layout.offsetY + place.y * layout.scale,
      place.width * layout.scale, place.height * layout.scale);
  } else if (scene.overlay) { // the mask, one overlay pixel per image pixel
    ctx.save();
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scene.overlay, layout.offsetX, layout.offsetY, layout.drawWidth, layout.drawHeight);
    ctx.restore();
  }
  scene.pairs.forEach((pair, index) => drawPair(ctx, layout, pair, index, scene.active));
  if (scene.brush) drawBrush(ctx, scene.brush);
}

function drawBrush(ctx, { at: [x, y], radius, erase }) {
  ctx.save();
  ctx.beginPath();
  ctx.arc(x, y, Math.max(1, radius), 0, Math.PI * 2);
  Object.assign(ctx, { lineWidth: 1.5, strokeStyle: COLORS.outline });
  ctx.stroke();
  ctx.setLineDash(erase ? [3, 3] : []);
  Object.assign(ctx, { lineWidth: 1, strokeStyle: COLORS.brush });
  ctx.stroke();
  ctx.restore();
}

function drawPair(ctx, layout, pair, index, active) {
  const source = imageToCanvas(layout, pair.source);
  const target = pair.target ? imageToCanvas(layout, pair.target) : null;
  if (target) drawArrow(ctx, source, target);
  drawDot(ctx, source, COLORS.handle, active(index, "source"), !target);
  if (target) drawDot(ctx, target, COLORS.target, active(index, "target"), false);
  const label = String(index + 1); // the pair's number next to its handle
  Object.assign(ctx, { font: "bold 12px sans-serif", textAlign: "left", textBaseline: "bottom", lineWidth: 3, strokeStyle: COLORS.outline });
  ctx.strokeText(label, source[0] + 6, source[1] - 4);
  ctx.fillStyle = COLORS.text;
  ctx.fillText(label, source[0] + 6, source[1] - 4);
}

function drawArrow(ctx, from, to) {
  const dx = to[0] - from[0];
  const dy = to[1] - from[1];
  const length = Math.hypot(dx, dy);
  if (length < 1) return;
  const [ux, uy] = [dx / length, dy / length];
  const head = Math.min(10, length * 0.5);
  const tip = [to[0] - ux * POINT_RADIUS, to[1] - uy * POINT_RADIUS];
  const base = [tip[0] - ux * head, tip[1] - uy * head];
  const wing = head * 0.5;
  for (const [style, width] of [[COLORS.outline, 4], [COLORS.arrow, 2]]) {
    Object.assign(ctx, { strokeStyle: style, fillStyle: style, lineWidth: width });
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
  Object.assign(ctx, { lineWidth: 2, strokeStyle: active ? "#ffffff" : COLORS.outline });
  ctx.stroke();
  if (pending) { // waiting for its target
    ctx.save();
    ctx.setLineDash([3, 3]);
    Object.assign(ctx, { strokeStyle: "#ffffff", lineWidth: 1.5 });
    ctx.beginPath();
    ctx.arc(x, y, radius + 5, 0, Math.PI * 2);
    ctx.stroke();
    ctx.restore();
  }
}
