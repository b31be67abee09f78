// Unit tests of the mask brush's pure logic (web/js/editor_mask.js). Run: node --test web/tests/
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { decodeMask, emptyMask, encodeMask, maskFromPixels, paintSegment, writeOverlay } from "../js/editor_mask.js";

/** A stroke as the editor paints it: a disc at the first position, then one segment per pointer move. */
function paintStroke(mask, points, size, value) {
  points.forEach((point, index) => paintSegment(mask, points[Math.max(0, index - 1)], point, size, value));
  return mask;
}

/** The [x, y] of every editable pixel, row by row. */
function editable(mask) {
  const pixels = [];
  mask.bits.forEach((bit, i) => { if (bit) pixels.push([i % mask.width, Math.floor(i / mask.width)]); });
  return pixels;
}

function block(x0, y0, x1, y1) {
  const pixels = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) pixels.push([x, y]);
  return pixels;
}

/** A mask from rows of "0"/"1" characters. */
function maskOf(rows) {
  const mask = emptyMask(rows[0].length, rows.length);
  rows.join("").split("").forEach((c, i) => { mask.bits[i] = Number(c); });
  return mask;
}

describe("brush rasterisation at image size", () => {
  test("a dot paints the pixels whose centres lie within size / 2", () => {
    // centred on pixel (5, 5): size 3 reaches the 8 neighbours (distance <= sqrt 2 < 1.5), not (7, 5) (2)
    assert.deepEqual(editable(paintStroke(emptyMask(10, 10), [[5.5, 5.5]], 3, 1)), block(4, 4, 6, 6));
    // size 2: the 4 side neighbours (distance 1 <= 1), not the corners (sqrt 2 > 1)
    assert.deepEqual(editable(paintStroke(emptyMask(10, 10), [[5.5, 5.5]], 2, 1)),
      [[5, 4], [4, 5], [5, 5], [6, 5], [5, 6]]);
    // between four pixel centres, size 3: the 2x2 block (distance 0.71), not the next ring (1.58)
    assert.deepEqual(editable(paintStroke(emptyMask(10, 10), [[5, 5]], 3, 1)), block(4, 4, 5, 5));
  });

  test("brush size: a disc of size 5 holds 21 pixels, of size 1 one pixel", () => {
    const big = paintStroke(emptyMask(20, 20), [[10.5, 10.5]], 5, 1);
    assert.equal(editable(big).length, 21); // the 5x5 block less its corners (distance sqrt 8 > 2.5)
    assert.ok(!big.bits[8 * 20 + 8] && big.bits[8 * 20 + 9] && big.bits[10 * 20 + 12]);
    assert.deepEqual(editable(paintStroke(emptyMask(20, 20), [[3.3, 7.6]], 1, 1)), [[3, 7]]);
  });

  test("a stroke paints the capsule around each segment", () => {
    // horizontal, size 1: exactly the row it runs along, from its first to its last pixel
    assert.deepEqual(editable(paintStroke(emptyMask(10, 5), [[2.5, 2.5], [7.5, 2.5]], 1, 1)), block(2, 2, 7, 2));
    // diagonal, size 1: the pixels on the diagonal; their side neighbours are sqrt(1/2) = 0.71 away
    assert.deepEqual(editable(paintStroke(emptyMask(6, 6), [[0.5, 0.5], [3.5, 3.5]], 1, 1)),
      [[0, 0], [1, 1], [2, 2], [3, 3]]);
    // a polyline: an L of two segments, size 3
    const l = paintStroke(emptyMask(12, 12), [[2.5, 2.5], [8.5, 2.5], [8.5, 8.5]], 3, 1);
    const expected = new Set([...block(1, 1, 9, 3), ...block(7, 1, 9, 9)].map(String));
    assert.deepEqual(new Set(editable(l).map(String)), expected);
  });

  test("erase clears the same pixels paint sets, and leaves the rest", () => {
    const mask = paintStroke(emptyMask(10, 10), [[5.5, 5.5]], 3, 1);
    paintStroke(mask, [[5.5, 5.5]], 1, 0);
    assert.deepEqual(editable(mask), block(4, 4, 6, 6).filter(([x, y]) => !(x === 5 && y === 5)));
    paintStroke(mask, [[3.5, 5.5], [7.5, 5.5]], 1, 0);
    assert.deepEqual(editable(mask), [[4, 4], [5, 4], [6, 4], [4, 6], [5, 6], [6, 6]]);
  });

  test("image edges: strokes that run off the image paint the part inside it", () => {
    // at the top-left corner, size 4: (0, 0), (1, 0), (0, 1); (1, 1) lies sqrt(4.5) > 2 away
    assert.deepEqual(editable(paintStroke(emptyMask(8, 8), [[0, 0]], 4, 1)), [[0, 0], [1, 0], [0, 1]]);
    // at the bottom-right corner, size 2: the corner pixel only
    assert.deepEqual(editable(paintStroke(emptyMask(10, 10), [[10, 10]], 2, 1)), [[9, 9]]);
    // a stroke from far left of the image into it
    assert.deepEqual(editable(paintStroke(emptyMask(8, 4), [[-5, 1.5], [2.5, 1.5]], 1, 1)), block(0, 1, 2, 1));
    // wholly outside: nothing, and no box
    const mask = emptyMask(8, 8);
    assert.equal(paintSegment(mask, [-10, -10], [-3, 20], 4, 1), null);
    assert.equal(paintSegment(mask, [12, 2], [30, 2], 4, 1), null);
    assert.deepEqual(editable(mask), []);
  });

  test("paintSegment returns a box that holds every pixel it changed, clipped to the image", () => {
    const mask = emptyMask(16, 16);
    const box = paintSegment(mask, [3.5, 4.5], [9.5, 6.5], 3, 1);
    assert.ok(box.x0 >= 0 && box.y0 >= 0 && box.x1 <= 16 && box.y1 <= 16);
    for (const [x, y] of editable(mask)) assert.ok(x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1, `${x},${y}`);
    assert.deepEqual(paintSegment(emptyMask(4, 4), [-1, -1], [1, 1], 2, 1), { x0: 0, y0: 0, x1: 3, y1: 3 });
  });
});

describe("editor_mask text (run-length JSON)", () => {
  test("encode: runs alternate 0 and 1 from 0, row-major", () => {
    assert.equal(encodeMask(maskOf(["0011", "1000"])), '{"size":[4,2],"runs":[2,3,3]}');
    assert.equal(encodeMask(maskOf(["1100", "0001"])), '{"size":[4,2],"runs":[0,2,5,1]}');
    assert.equal(encodeMask(maskOf(["111", "111"])), '{"size":[3,2],"runs":[0,6]}');
  });

  test("nothing painted (or all erased) is the empty text: no mask", () => {
    assert.equal(encodeMask(null), "");
    assert.equal(encodeMask(emptyMask(64, 64)), "");
    assert.deepEqual(decodeMask(""), { mask: null, error: null });
    assert.deepEqual(decodeMask("   "), { mask: null, error: null });
    assert.deepEqual(decodeMask(undefined), { mask: null, error: null });
  });

  test("round trip: decode(encode(mask)) is the mask, bit for bit", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const [width, height] of [[1, 1], [5, 3], [64, 64], [67, 71]]) {
      const mask = emptyMask(width, height);
      for (let i = 0; i < 4; i++) paintSegment(mask, [random() * width, random() * height], [random() * width, random() * height], 1 + random() * 9, 1);
      mask.bits[0] = 1;
      const text = encodeMask(mask);
      const { mask: decoded, error } = decodeMask(text);
      assert.equal(error, null);
      assert.deepEqual([decoded.width, decoded.height], [width, height]);
      assert.deepEqual(decoded.bits, mask.bits);
      assert.equal(encodeMask(decoded), text);
    }
  });

  test("compact: a painted disc costs two runs per row it covers", () => {
    const mask = paintStroke(emptyMask(1024, 1024), [[512, 512]], 200, 1);
    const runs = JSON.parse(encodeMask(mask)).runs;
    assert.equal(runs.length, 1 + 2 * 200 - 1 + 1); // first 0-run, then (1, 0) per row; the last 0-run ends it
    assert.ok(encodeMask(mask).length < 3000);
  });

  test("an invalid text comes back as its error, no mask (every message: drag_wire_cases.test.mjs)", () => {
    assert.deepEqual(decodeMask('{"size": [2, 2], "runs": [1, 2]}'),
      { mask: null, error: "editor_mask: the runs cover 3 pixels, but its size 2x2 has 4" });
    assert.match(decodeMask(42).error, /^editor_mask: expected a JSON string, got number$/);
  });
});

describe("masks from images and the overlay", () => {
  test("LoadImage's MASK is 1 - alpha; a mask preview is white = editable; both cut at one half", () => {
    // 4 pixels: alpha 0, 127, 128, 255 -> 1 - alpha = 255, 128, 127, 0 -> editable, editable, kept, kept
    const alpha = Uint8ClampedArray.from([9, 9, 9, 0, 9, 9, 9, 127, 9, 9, 9, 128, 9, 9, 9, 255]);
    assert.deepEqual([...maskFromPixels(alpha, 2, 2, true).bits], [1, 1, 0, 0]);
    const grey = Uint8ClampedArray.from([255, 255, 255, 255, 128, 128, 128, 255, 127, 127, 127, 255, 0, 0, 0, 255]);
    assert.deepEqual([...maskFromPixels(grey, 4, 1, false).bits], [1, 1, 0, 0]);
  });

  test("writeOverlay colours every pixel, or only a box", () => {
    const mask = maskOf(["10", "01"]);
    const rgba = writeOverlay(mask, new Uint8ClampedArray(16), [1, 2, 3, 4], [5, 6, 7, 8]);
    assert.deepEqual([...rgba], [1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8, 1, 2, 3, 4]);
    const partial = writeOverlay(mask, new Uint8ClampedArray(16), [1, 2, 3, 4], [5, 6, 7, 8], { x0: 1, y0: 1, x1: 2, y1: 2 });
    assert.deepEqual([...partial], [...new Array(12).fill(0), 1, 2, 3, 4]);
  });
});
