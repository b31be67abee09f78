// Pure logic of the SDE-Drag point editor: no DOM, no ComfyUI. Imported by sde_drag_editor.js and by the
// unit tests (web/tests/drag_points.test.mjs, `node --test web/tests/`).
//
// Conventions
// * Image pixels: x = column, y = row, origin at the top-left corner of the image. The integer pixel (x, y)
//   covers the continuous area [x, x + 1) x [y, y + 1); it is drawn at its centre (x + 0.5, y + 0.5).
// * A canvas position (CSS pixels of the editor canvas) maps to the pixel under it: floor((c - offset) / scale),
//   clamped to [0, size - 1]. Pixel -> canvas gives the pixel centre, so canvas -> image -> canvas moves a
//   point by at most half an image pixel.
// * The image is drawn "contained" in the canvas: as large as fits, aspect ratio kept, centred, with
//   letterbox bars on the two sides that are too long (layoutImage).
// * Editor state: { pairs: [{ source: [x, y], target: [x, y] | null }, ...] }. Only the last pair may lack
//   its target (a handle placed, target not yet). All functions return new objects; inputs are not mutated.
// * Serialized form (the node's `drag_points` widget): {"pairs": [{"source": [x, y], "target": [x, y]}, ...]}
//   with integer coordinates; pairs without a target are not written. Reading it is drag_wire.js's job.

import { NO_POINTS, parseDragPoints, WireFormatError } from "./drag_wire.js";

/** Error for a call the editor's state does not allow (no layout yet, no such pair or point). */
class DragPointsError extends Error {
  constructor(message) {
    super(message);
    this.name = "DragPointsError";
  }
}

// ---- geometry ------------------------------------------------------------------------------------------

/**
 * Where an imageWidth x imageHeight image is drawn in a canvasWidth x canvasHeight canvas ("contain").
 * Returns { scale, offsetX, offsetY, drawWidth, drawHeight, imageWidth, imageHeight, canvasWidth,
 * canvasHeight }, or null when a size is not positive.
 */
export function layoutImage(canvasWidth, canvasHeight, imageWidth, imageHeight) {
  if (!(canvasWidth > 0 && canvasHeight > 0 && imageWidth > 0 && imageHeight > 0)) return null;
  const scale = Math.min(canvasWidth / imageWidth, canvasHeight / imageHeight);
  const drawWidth = imageWidth * scale;
  const drawHeight = imageHeight * scale;
  return {
    scale,
    offsetX: (canvasWidth - drawWidth) / 2,
    offsetY: (canvasHeight - drawHeight) / 2,
    drawWidth,
    drawHeight,
    imageWidth,
    imageHeight,
    canvasWidth,
    canvasHeight,
  };
}

/** Whether a canvas position lies on the drawn image (not on a letterbox bar). */
export function isOnImage(layout, cx, cy) {
  if (!layout) return false;
  const u = cx - layout.offsetX;
  const v = cy - layout.offsetY;
  return u >= 0 && v >= 0 && u < layout.drawWidth && v < layout.drawHeight;
}

/** Image pixel [x, y] (integers) under a canvas position, clamped into the image. */
export function canvasToImage(layout, cx, cy) {
  if (!layout) throw new DragPointsError("no image layout (image size unknown)");
  const x = Math.floor((cx - layout.offsetX) / layout.scale);
  const y = Math.floor((cy - layout.offsetY) / layout.scale);
  return [clamp(x, 0, layout.imageWidth - 1), clamp(y, 0, layout.imageHeight - 1)];
}

/** Canvas position [cx, cy] of the centre of image pixel [x, y] (non-integer pixels allowed). */
export function imageToCanvas(layout, point) {
  if (!layout) throw new DragPointsError("no image layout (image size unknown)");
  return [layout.offsetX + (point[0] + 0.5) * layout.scale, layout.offsetY + (point[1] + 0.5) * layout.scale];
}

/** Continuous image position [x, y] under a canvas position, not clamped (the brush may run off the image). */
export function canvasToImagePosition(layout, cx, cy) {
  if (!layout) throw new DragPointsError("no image layout (image size unknown)");
  return [(cx - layout.offsetX) / layout.scale, (cy - layout.offsetY) / layout.scale];
}

/**
 * Where the edited image of a run lies on the source, in source pixels: { x, y, width, height }. A result that is
 * the source less VAE Encode's centre crop (each side short by less than `downscale` pixels) lies at that crop,
 * pixel on pixel; any other size (resized downstream) is stretched over the whole source.
 */
export function resultPlacement(sourceWidth, sourceHeight, resultWidth, resultHeight, downscale) {
  const cut = (source, result) => source - result >= 0 && source - result < downscale;
  if (cut(sourceWidth, resultWidth) && cut(sourceHeight, resultHeight)) {
    return {
      x: Math.floor((sourceWidth - resultWidth) / 2),
      y: Math.floor((sourceHeight - resultHeight) / 2),
      width: resultWidth,
      height: resultHeight,
    };
  }
  return { x: 0, y: 0, width: sourceWidth, height: sourceHeight };
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

// ---- editing -------------------------------------------------------------------------------------------

function copyPair(pair) {
  return { source: [pair.source[0], pair.source[1]], target: pair.target ? [pair.target[0], pair.target[1]] : null };
}

/** Index of the pair still waiting for its target, or -1. */
export function pendingIndex(state) {
  const last = state.pairs.length - 1;
  return last >= 0 && !state.pairs[last].target ? last : -1;
}

/** Number of pairs with both a handle and a target. */
export function completeCount(state) {
  return state.pairs.filter((pair) => pair.target).length;
}

/** A click on the image: the target of the pending handle, or else the handle of a new pair. */
export function addPoint(state, point) {
  const pairs = state.pairs.map(copyPair);
  const pending = pendingIndex(state);
  if (pending >= 0) pairs[pending].target = [point[0], point[1]];
  else pairs.push({ source: [point[0], point[1]], target: null });
  return { pairs };
}

/** Moves one point: ref = { pair: index, role: "source" | "target" }. */
export function movePoint(state, ref, point) {
  checkRef(state, ref);
  const pairs = state.pairs.map(copyPair);
  pairs[ref.pair][ref.role] = [point[0], point[1]];
  return { pairs };
}

/** Removes pair `index` (both its points); later pairs move up by one. */
export function deletePair(state, index) {
  if (!Number.isInteger(index) || index < 0 || index >= state.pairs.length) {
    throw new DragPointsError(`no pair ${index} (there are ${state.pairs.length})`);
  }
  return { pairs: state.pairs.filter((_, i) => i !== index).map(copyPair) };
}

/** No pairs. */
export function clearPairs() {
  return { pairs: [] };
}

function checkRef(state, ref) {
  const pair = ref && state.pairs[ref.pair];
  if (!pair || (ref.role !== "source" && ref.role !== "target") || !pair[ref.role]) {
    throw new DragPointsError(`no point ${JSON.stringify(ref)}`);
  }
}

/**
 * The point drawn nearest to canvas position (cx, cy), within `radius` canvas pixels:
 * { pair, role, distance } or null. On a tie the later pair wins (it is drawn on top), and a target wins
 * over its own handle.
 */
export function hitTest(state, layout, cx, cy, radius = 8) {
  if (!layout) return null;
  let best = null;
  state.pairs.forEach((pair, index) => {
    for (const role of ["source", "target"]) {
      if (!pair[role]) continue;
      const [px, py] = imageToCanvas(layout, pair[role]);
      const distance = Math.hypot(px - cx, py - cy);
      if (distance <= radius && (!best || distance <= best.distance)) best = { pair: index, role, distance };
    }
  });
  return best;
}

// ---- the drag_points text -------------------------------------------------------------------------------

/** Reads `text` into an editor state: { state, error }, error the WireFormatError message (drag_wire.js) or null. */
export function stateFromText(text) {
  try {
    return { state: { pairs: parseDragPoints(text) }, error: null };
  } catch (error) {
    if (error instanceof WireFormatError) return { state: null, error: error.message };
    throw error;
  }
}

/**
 * The `drag_points` text of a state: complete pairs only, coordinates rounded to integers, one pair per line.
 * Points are not clamped: the editor only places points inside the image, and a hand-written point outside
 * it stays as written, for the server to report, instead of moving when another pair is edited.
 */
export function serializeDragPoints(state) {
  const fix = (point) => [Math.round(point[0]), Math.round(point[1])];
  const lines = state.pairs.filter((pair) => pair.target).map((pair) =>
    `{"source": ${JSON.stringify(fix(pair.source)).replace(",", ", ")}, ` +
    `"target": ${JSON.stringify(fix(pair.target)).replace(",", ", ")}}`);
  if (lines.length === 0) return NO_POINTS;
  return `{"pairs": [\n  ${lines.join(",\n  ")}\n]}`;
}

/** Points beyond the right or bottom edge of a width x height image: "pair N role" names (N from 1, as drawn). */
export function pointsOutside(pairs, width, height) {
  const outside = [];
  pairs.forEach((pair, index) => {
    for (const role of ["source", "target"]) {
      const point = pair[role];
      if (point && (point[0] >= width || point[1] >= height)) outside.push(`pair ${index + 1} ${role}`);
    }
  });
  return outside;
}

// ---- image sources -------------------------------------------------------------------------------------

/**
 * A LoadImage-style `image` widget value as a /view file: "name.png", "sub/dir/name.png" or an annotated
 * "name.png [output]" -> { filename, subfolder, type } (type defaults to `defaultType`); null if empty.
 */
export function parseImageWidgetValue(value, defaultType = "input") {
  if (typeof value !== "string") return null;
  let text = value.trim();
  let type = defaultType;
  const annotated = /^(.*?)\s*\[(input|output|temp)\]$/.exec(text);
  if (annotated) {
    text = annotated[1];
    type = annotated[2];
  }
  text = text.replace(/\\/g, "/");
  const slash = text.lastIndexOf("/");
  const filename = text.slice(slash + 1);
  if (!filename) return null;
  return { filename, subfolder: slash >= 0 ? text.slice(0, slash) : "", type };
}

/** Query string of ComfyUI's /view route for a { filename, subfolder, type } file (as in UI outputs). */
export function viewQuery(file) {
  const parts = [`filename=${encodeURIComponent(file.filename)}`, `type=${encodeURIComponent(file.type || "output")}`];
  parts.push(`subfolder=${encodeURIComponent(file.subfolder || "")}`);
  return parts.join("&");
}
