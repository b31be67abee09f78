// Unit tests of the editor's status line (editor_view.js statusLine): what it says for each state, in order of
// precedence.
import assert from "node:assert/strict";
import { test } from "node:test";

import { statusLine } from "../js/editor_view.js";

const base = {
  linkedText: false, textError: null, imageError: null, imageSize: [64, 48], pairs: [], showResult: false,
  tool: "points", brushSize: 24, brushBlocked: null, maskLinked: false, linkedMaskShown: false, maskPainted: false,
  maskProblem: null,
};
const pair = (source, target) => ({ source, target });
const line = (facts) => statusLine({ ...base, ...facts });

test("points: counts complete pairs, the image size and what a click does next", () => {
  assert.deepEqual(line({}), { text: "0 pairs \u00b7 64\u00d748 \u00b7 click a handle, then its target", error: false });
  assert.equal(line({ pairs: [pair([1, 2], [3, 4]), pair([5, 6], null)] }).text,
    "1 pair \u00b7 64\u00d748 \u00b7 pair 2: click its target");
  assert.equal(line({ pairs: [pair([1, 2], [3, 4])], maskPainted: true }).text,
    "1 pair \u00b7 64\u00d748 \u00b7 painted mask \u00b7 drag to move \u00b7 right-click deletes");
});

test("brush and erase say their size, or why they cannot paint", () => {
  assert.equal(line({ tool: "brush" }).text, "0 pairs \u00b7 64\u00d748 \u00b7 paint the editable area (brush 24 px)");
  assert.equal(line({ tool: "erase", brushSize: 6 }).text, "0 pairs \u00b7 64\u00d748 \u00b7 erase the editable area (brush 6 px)");
  assert.equal(line({ tool: "brush", maskLinked: true, brushBlocked: "the mask comes from the mask input (read-only here)" }).text,
    "0 pairs \u00b7 64\u00d748 \u00b7 mask input (shown after a run) \u00b7 the mask comes from the mask input (read-only here)");
});

test("problems win, in order: linked text, text error, image error, no image, points outside, mask problem", () => {
  const all = { linkedText: true, textError: "drag_points: x", imageError: "cannot load a.png", imageSize: null };
  assert.deepEqual(line(all), { text: "drag_points comes from a link: the editor only shows it", error: false });
  assert.deepEqual(line({ ...all, linkedText: false }), { text: "drag_points: x (fix the text or press Clear)", error: true });
  assert.deepEqual(line({ ...all, linkedText: false, textError: null }), { text: "cannot load a.png", error: true });
  assert.deepEqual(line({ imageSize: null }), { text: "no image yet", error: false });
  assert.deepEqual(line({ pairs: [pair([64, 2], [3, 48])], maskProblem: "editor_mask: y" }),
    { text: "2 point(s) outside the 64\u00d748 image: pair 1 source, pair 1 target", error: true });
  assert.deepEqual(line({ maskProblem: "editor_mask: y" }), { text: "editor_mask: y", error: true });
});

test("the result view says how to get back to the source", () => {
  assert.equal(line({ showResult: true, pairs: [pair([1, 2], [3, 4])] }).text,
    "1 pair \u00b7 64\u00d748 \u00b7 result of the last run (press Result for the source)");
});
