// The SDE-Drag point editor's wire formats, as the node reads them (sde_edit/drag_wire.py): the same names, the
// same checks and the same error messages, so the editor's status line says what a run would say. Pure: no DOM,
// no ComfyUI. tests/data/drag_wire_cases.json holds the cases both readers must read alike
// (web/tests/drag_wire_cases.test.mjs here, tests/test_drag_wire.py there).
//
// * drag_points: {"pairs": [{"source": [x, y], "target": [x, y]}, ...]} in image pixels (x = column, y = row,
//   origin top-left), written by the editor.
// * editor_mask: {"size": [W, H], "runs": [r0, r1, ...]}, the run lengths of the painted mask at the image's size,
//   row-major, alternating kept (0) and editable (1), starting with kept (r0 may be 0); "" = no mask.
// * The source image the node shows in its editor: a UI output under EDITOR_IMAGE_KEY and, as soon as the node
//   starts, the websocket message EDITOR_IMAGE_EVENT.

export const NO_POINTS = '{"pairs": []}';
export const EDITOR_IMAGE_KEY = "sde_drag_source";
export const EDITOR_IMAGE_EVENT = "sde_edit.editor_image";
export const MAX_MASK_SIDE = 16384; // ComfyUI's largest image side
/** The node and the inputs the editor uses (checked against the node's schema by editor_contract.test.mjs). */
export const NODE_NAMES = Object.freeze({
  type: "SDEEdit_SDEDrag",
  points: "drag_points", // STRING widget: the pairs
  mask: "editor_mask", // socketless STRING widget: the painted mask
  preset: "preset",
  steps: "steps",
  downscale: "vae_downscale",
  image: "image", // IMAGE input: the source the editor shows
  maskInput: "mask", // MASK input: wins over the painted mask
});
export const POINTS_FORMAT = '{"pairs": [{"source": [x, y], "target": [x, y]}, ...]}';
export const EDITOR_MASK_FORMAT = '{"size": [width, height], "runs": [r0, r1, ...]}';

/** A wire text that does not read; `message` names the widget and the first problem. */
export class WireFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = "WireFormatError";
  }
}

/**
 * The pairs of a `drag_points` text, [{ source: [x, y], target: [x, y] }, ...]; blank text and {"pairs": []} give
 * []. Coordinates are checked to be finite and >= 0 (pointsOutside in drag_points.js checks the far edges once the
 * image is known). Throws WireFormatError, e.g. `drag_points: pair 2 target must be [x, y] with two finite
 * numbers, got [3,"a"]` (pairs count from 1, as numbered on the canvas).
 */
export function parseDragPoints(text) {
  if (isBlank(text)) return [];
  if (typeof text !== "string") throw new WireFormatError(`drag_points: expected a JSON string, got ${typeof text}`);
  const data = parseJson(text, "drag_points", `${POINTS_FORMAT} in image pixels (the point editor writes it)`);
  if (!isObject(data)) throw new WireFormatError(`drag_points: must be a JSON object {"pairs": [...]}, got ${shown(data)}`);
  if (!Object.hasOwn(data, "pairs")) throw new WireFormatError('drag_points: missing key "pairs"');
  if (!Array.isArray(data.pairs)) throw new WireFormatError(`drag_points: "pairs" must be a list, got ${shown(data.pairs)}`);
  return data.pairs.map((pair, index) => {
    if (!isObject(pair)) {
      throw new WireFormatError(`drag_points: pair ${index + 1} must be an object {"source": [x, y], "target": [x, y]}, ` +
        `got ${shown(pair)}`);
    }
    return { source: readPoint(pair, index + 1, "source"), target: readPoint(pair, index + 1, "target") };
  });
}

function readPoint(pair, number, role) {
  if (!Object.hasOwn(pair, role)) throw new WireFormatError(`drag_points: pair ${number} has no "${role}"`);
  const value = pair[role];
  if (!(Array.isArray(value) && value.length === 2 && value.every(isNumber))) {
    throw new WireFormatError(`drag_points: pair ${number} ${role} must be [x, y] with two finite numbers, got ${shown(value)}`);
  }
  if (value[0] < 0 || value[1] < 0) {
    throw new WireFormatError(`drag_points: pair ${number} ${role} ${shown(value)} is negative (image pixels start at 0)`);
  }
  return [value[0], value[1]];
}

/**
 * The mask of an `editor_mask` text, { width, height, bits } with bits a Uint8Array of width * height values
 * (row-major, 1 = editable), or null for blank text (no mask). Throws WireFormatError naming editor_mask.
 */
export function parseEditorMask(text) {
  if (isBlank(text)) return null;
  if (typeof text !== "string") throw new WireFormatError(`editor_mask: expected a JSON string, got ${typeof text}`);
  const data = parseJson(text, "editor_mask", `${EDITOR_MASK_FORMAT} (the point editor writes it; clear the mask ` +
    "there, or leave editor_mask empty for no mask)");
  if (!isObject(data) || !Object.hasOwn(data, "size") || !Object.hasOwn(data, "runs")) {
    throw new WireFormatError(`editor_mask: expected an object ${EDITOR_MASK_FORMAT}`);
  }
  const { size, runs } = data;
  if (!(Array.isArray(size) && size.length === 2 && size.every((v) => Number.isInteger(v) && v >= 1 && v <= MAX_MASK_SIDE))) {
    throw new WireFormatError(`editor_mask: size must be [width, height], two whole numbers from 1 to ${MAX_MASK_SIDE}, ` +
      `got ${shown(size)}`);
  }
  if (!(Array.isArray(runs) && runs.every((v) => Number.isInteger(v) && v >= 0))) {
    throw new WireFormatError("editor_mask: runs must be a list of whole numbers >= 0 (pixels per run, alternating " +
      "kept and editable, starting with kept)");
  }
  const [width, height] = size;
  const covered = runs.reduce((sum, run) => sum + run, 0);
  if (covered !== width * height) {
    throw new WireFormatError(`editor_mask: the runs cover ${covered} pixels, but its size ${width}x${height} has ` +
      `${width * height}`);
  }
  const bits = new Uint8Array(width * height);
  let start = 0;
  runs.forEach((run, index) => {
    if (index % 2 === 1) bits.fill(1, start, start + run);
    start += run;
  });
  return { width, height, bits };
}

function isBlank(text) {
  return text === undefined || text === null || (typeof text === "string" && text.trim() === "");
}

function parseJson(text, name, expected) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WireFormatError(`${name}: not valid JSON (${error.message}); expected ${expected}`);
  }
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

/** A value in an error message as JSON.stringify writes it, at most 60 characters. */
function shown(value) {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= 60 ? text : text.slice(0, 57) + "...";
}
