// Pure logic of the SDE-Drag editor's mask brush: no DOM, no ComfyUI. Imported by sde_drag_editor.js and by the
// unit tests (web/tests/editor_mask.test.mjs, `node --test web/tests/`).
//
// Conventions
// * A mask is { width, height, bits }: bits is a Uint8Array of width * height values, row-major (index
//   y * width + x), 1 = editable, 0 = kept; its size is the image's size in pixels.
// * Brush positions are continuous image coordinates: pixel (x, y) covers [x, x + 1) x [y, y + 1), so its centre
//   is (x + 0.5, y + 0.5). A stroke of brush `size` paints (or erases) every pixel whose centre lies within
//   size / 2 of the polyline through its positions; a single position paints a disc. Pixels outside the image
//   are never touched, so strokes may run off the edges.
// * Serialized form (the node's `editor_mask` widget, read by drag_wire.js here and by sde_edit/drag_wire.py in the
//   node): "" when nothing is editable (no mask: the node edits the whole image), else {"size": [W, H], "runs": [r0, r1, ...]}, the
//   run lengths of the bits in row-major order, alternating 0 and 1 and starting with a run of 0 (r0 may be 0).
// * Painting mutates the mask it is given (a stroke touches one mask many times per second); everything else
//   returns new objects.

import { parseEditorMask, WireFormatError } from "./drag_wire.js";

/** A width x height mask with nothing editable. */
export function emptyMask(width, height) {
  return { width, height, bits: new Uint8Array(width * height) };
}

/** Whether no pixel is editable (also for a null mask). */
function isEmptyMask(mask) {
  return !mask || !mask.bits.some((bit) => bit === 1);
}

// ---- the brush -----------------------------------------------------------------------------------------

/**
 * Paints (value 1) or erases (value 0) the capsule of radius size / 2 around the segment from -> to (image
 * coordinates; from = to gives a disc) into `mask`, in place. A stroke is a disc at its first position, then one
 * segment per pointer move. Returns the pixel box it covered,
 * { x0, y0, x1, y1 } with x1 and y1 exclusive, or null when the capsule misses the image.
 */
export function paintSegment(mask, from, to, size, value) {
  const radius = size / 2;
  const x0 = Math.max(0, Math.floor(Math.min(from[0], to[0]) - radius));
  const y0 = Math.max(0, Math.floor(Math.min(from[1], to[1]) - radius));
  const x1 = Math.min(mask.width, Math.ceil(Math.max(from[0], to[0]) + radius) + 1);
  const y1 = Math.min(mask.height, Math.ceil(Math.max(from[1], to[1]) + radius) + 1);
  if (x0 >= x1 || y0 >= y1) return null;
  const dx = to[0] - from[0];
  const dy = to[1] - from[1];
  const length2 = dx * dx + dy * dy;
  const radius2 = radius * radius;
  for (let y = y0; y < y1; y++) {
    const py = y + 0.5 - from[1];
    for (let x = x0; x < x1; x++) {
      const px = x + 0.5 - from[0];
      // squared distance from the pixel centre to the nearest point of the segment
      const t = length2 > 0 ? Math.min(1, Math.max(0, (px * dx + py * dy) / length2)) : 0;
      const ex = px - t * dx;
      const ey = py - t * dy;
      if (ex * ex + ey * ey <= radius2) mask.bits[y * mask.width + x] = value;
    }
  }
  return { x0, y0, x1, y1 };
}

// ---- the editor_mask text ------------------------------------------------------------------------------

/** The `editor_mask` text of a mask: "" when nothing is editable, else the run-length JSON. */
export function encodeMask(mask) {
  if (isEmptyMask(mask)) return "";
  const runs = [];
  let value = 0;
  let length = 0;
  for (const bit of mask.bits) {
    if (bit === value) {
      length += 1;
    } else {
      runs.push(length);
      value = bit;
      length = 1;
    }
  }
  runs.push(length);
  return JSON.stringify({ size: [mask.width, mask.height], runs });
}

/**
 * Decodes an `editor_mask` text: { mask, error }; mask is null for blank text (no mask) and on error, error the
 * WireFormatError message (drag_wire.js, naming editor_mask) or null.
 */
export function decodeMask(text) {
  try {
    return { mask: parseEditorMask(text), error: null };
  } catch (error) {
    if (error instanceof WireFormatError) return { mask: null, error: error.message };
    throw error;
  }
}

// ---- masks from images ---------------------------------------------------------------------------------

/**
 * The mask in the RGBA pixels of an image (as canvas getImageData gives them): core LoadImage's MASK, 1 - alpha,
 * from the `/view?...&channel=a` of its file (`fromAlpha`), or a saved mask preview, white = editable (the red
 * channel). A pixel is editable where that value exceeds one half, as the node thresholds the mask.
 */
export function maskFromPixels(rgba, width, height, fromAlpha) {
  const mask = emptyMask(width, height);
  for (let i = 0; i < width * height; i++) {
    const value = fromAlpha ? 255 - rgba[4 * i + 3] : rgba[4 * i];
    mask.bits[i] = value > 127.5 ? 1 : 0;
  }
  return mask;
}

/**
 * RGBA pixels that show `mask` over the image: `editable` and `kept` are [r, g, b, a] colours (0-255). With a
 * box ({ x0, y0, x1, y1 }, as paintSegment returns) only that part of `rgba` (width * height * 4 values) is
 * written, so a stroke updates its overlay without redoing the whole image.
 */
export function writeOverlay(mask, rgba, editable, kept, box = null) {
  const { x0, y0, x1, y1 } = box ?? { x0: 0, y0: 0, x1: mask.width, y1: mask.height };
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * mask.width + x;
      rgba.set(mask.bits[i] ? editable : kept, 4 * i);
    }
  }
  return rgba;
}
