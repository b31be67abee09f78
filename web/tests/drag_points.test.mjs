// Unit tests of the editor's pure logic (web/js/drag_points.js). Run: node --test web/tests/
// (.mjs on purpose: ComfyUI loads every .js under web/ as a front-end extension, never .mjs.)
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as points from "../js/drag_points.js";

/** The pairs of a drag_points text; throws its DragPointsError message. */
function parsePairs(text) {
  const { state, error } = points.stateFromText(text);
  if (error) throw new Error(error);
  return state.pairs;
}

describe("layoutImage (contain + letterbox)", () => {
  test("wide canvas, square image: bars left and right", () => {
    const layout = points.layoutImage(400, 200, 512, 512);
    assert.deepEqual(layout, {
      scale: 200 / 512, offsetX: 100, offsetY: 0, drawWidth: 200, drawHeight: 200,
      imageWidth: 512, imageHeight: 512, canvasWidth: 400, canvasHeight: 200,
    });
  });

  test("tall canvas, landscape image: bars top and bottom", () => {
    const layout = points.layoutImage(300, 400, 768, 512);
    assert.equal(layout.scale, 300 / 768);
    assert.equal(layout.offsetX, 0);
    assert.equal(layout.drawWidth, 300);
    assert.equal(layout.drawHeight, 200);
    assert.equal(layout.offsetY, 100);
  });

  test("exact fit: no bars", () => {
    const layout = points.layoutImage(256, 128, 1024, 512);
    assert.equal(layout.scale, 0.25);
    assert.equal(layout.offsetX, 0);
    assert.equal(layout.offsetY, 0);
  });

  test("zero or missing sizes give null", () => {
    assert.equal(points.layoutImage(0, 100, 64, 64), null);
    assert.equal(points.layoutImage(100, 100, 0, 64), null);
    assert.equal(points.layoutImage(100, 100, undefined, 64), null);
  });
});

describe("canvas <-> image mapping", () => {
  const layout = points.layoutImage(400, 200, 512, 512); // scale 0.390625, offsetX 100

  test("canvas -> image pixel under the cursor", () => {
    assert.deepEqual(points.canvasToImage(layout, 100, 0), [0, 0]);
    assert.deepEqual(points.canvasToImage(layout, 200, 100), [256, 256]);
    assert.deepEqual(points.canvasToImage(layout, 150, 50), [128, 128]);
    // 0.39 canvas px to the right of the image's left edge is still pixel column 0 (floor of 0.998)
    assert.deepEqual(points.canvasToImage(layout, 100.39, 10), [0, 25]);
    assert.deepEqual(points.canvasToImage(layout, 299.9, 199.9), [511, 511]);
  });

  test("canvas -> image clamps positions on the letterbox bars", () => {
    assert.deepEqual(points.canvasToImage(layout, 10, 100), [0, 256]);
    assert.deepEqual(points.canvasToImage(layout, 390, -5), [511, 0]);
    assert.deepEqual(points.canvasToImage(layout, 300, 200), [511, 511]);
  });

  test("image -> canvas gives the pixel centre", () => {
    assert.deepEqual(points.imageToCanvas(layout, [0, 0]), [100 + 0.5 * 0.390625, 0.5 * 0.390625]);
    assert.deepEqual(points.imageToCanvas(layout, [256, 128]), [100 + 256.5 * 0.390625, 128.5 * 0.390625]);
  });

  test("round trip: image -> canvas -> image is the identity on integer pixels", () => {
    const landscape = points.layoutImage(333, 250, 768, 512);
    for (const point of [[0, 0], [767, 511], [383, 255], [17, 400], [700, 3]]) {
      const [cx, cy] = points.imageToCanvas(landscape, point);
      assert.deepEqual(points.canvasToImage(landscape, cx, cy), point);
    }
  });

  test("round trip: canvas -> image -> canvas moves by at most half an image pixel", () => {
    const big = points.layoutImage(800, 800, 64, 64); // scale 12.5: half a pixel is 6.25 canvas px
    for (const [cx, cy] of [[3, 799], [400, 400], [412.4, 12.6], [799.9, 0.1]]) {
      const back = points.imageToCanvas(big, points.canvasToImage(big, cx, cy));
      assert.ok(Math.abs(back[0] - cx) <= 6.25 && Math.abs(back[1] - cy) <= 6.25, `${cx},${cy} -> ${back}`);
    }
  });

  test("isOnImage excludes the letterbox bars", () => {
    assert.equal(points.isOnImage(layout, 99.9, 100), false);
    assert.equal(points.isOnImage(layout, 100, 100), true);
    assert.equal(points.isOnImage(layout, 299.9, 199.9), true);
    assert.equal(points.isOnImage(layout, 300, 100), false);
    assert.equal(points.isOnImage(null, 150, 100), false);
  });

  test("mapping without a layout is an error", () => {
    assert.throws(() => points.canvasToImage(null, 1, 1), /no image layout/);
    assert.throws(() => points.imageToCanvas(null, [1, 1]), /no image layout/);
  });
});

describe("pair editing", () => {
  test("clicks alternate handle, target, handle, target", () => {
    let state = { pairs: [] };
    state = points.addPoint(state, [10, 20]);
    assert.deepEqual(state, { pairs: [{ source: [10, 20], target: null }] });
    assert.equal(points.pendingIndex(state), 0);
    assert.equal(points.completeCount(state), 0);
    state = points.addPoint(state, [30, 20]);
    assert.deepEqual(state, { pairs: [{ source: [10, 20], target: [30, 20] }] });
    assert.equal(points.pendingIndex(state), -1);
    state = points.addPoint(points.addPoint(state, [5, 5]), [6, 7]);
    assert.deepEqual(state.pairs, [
      { source: [10, 20], target: [30, 20] },
      { source: [5, 5], target: [6, 7] },
    ]);
    assert.equal(points.completeCount(state), 2);
  });

  test("functions do not mutate their input", () => {
    const state = { pairs: [{ source: [1, 2], target: [3, 4] }] };
    const frozen = JSON.stringify(state);
    points.addPoint(state, [9, 9]);
    points.movePoint(state, { pair: 0, role: "target" }, [7, 7]);
    points.deletePair(state, 0);
    assert.equal(JSON.stringify(state), frozen);
  });

  test("movePoint moves one point only", () => {
    const state = { pairs: [{ source: [1, 2], target: [3, 4] }, { source: [5, 6], target: [7, 8] }] };
    const moved = points.movePoint(state, { pair: 1, role: "source" }, [50, 60]);
    assert.deepEqual(moved.pairs, [{ source: [1, 2], target: [3, 4] }, { source: [50, 60], target: [7, 8] }]);
    assert.throws(() => points.movePoint(state, { pair: 2, role: "source" }, [0, 0]), /no point/);
    assert.throws(() => points.movePoint(state, { pair: 0, role: "middle" }, [0, 0]), /no point/);
    const pending = points.addPoint(state, [9, 9]);
    assert.throws(() => points.movePoint(pending, { pair: 2, role: "target" }, [0, 0]), /no point/);
  });

  test("deletePair renumbers the rest; clearPairs", () => {
    const state = { pairs: [
      { source: [1, 1], target: [2, 2] }, { source: [3, 3], target: [4, 4] }, { source: [5, 5], target: [6, 6] },
    ] };
    assert.deepEqual(points.deletePair(state, 1).pairs, [{ source: [1, 1], target: [2, 2] }, { source: [5, 5], target: [6, 6] }]);
    assert.throws(() => points.deletePair(state, 3), /no pair 3 \(there are 3\)/);
    assert.throws(() => points.deletePair(state, -1), /no pair -1/);
    assert.deepEqual(points.clearPairs(), { pairs: [] });
  });

  test("hitTest finds the nearest point within the radius", () => {
    const layout = points.layoutImage(400, 200, 512, 512); // pixel (x, y) centre at (100 + (x+.5)s, (y+.5)s)
    const state = { pairs: [
      { source: [0, 0], target: [256, 256] },
      { source: [512 - 1, 511], target: null },
    ] };
    // target of pair 0 is drawn at (200.195.., 100.195..)
    assert.deepEqual(points.hitTest(state, layout, 203, 100, 8), { pair: 0, role: "target", distance: Math.hypot(203 - (100 + 256.5 * 0.390625), 100 - 256.5 * 0.390625) });
    assert.equal(points.hitTest(state, layout, 215, 100, 8), null);
    assert.equal(points.hitTest(state, layout, 100, 0, 8).role, "source");
    assert.equal(points.hitTest(state, layout, 299, 199, 8).pair, 1);
    assert.equal(points.hitTest(state, null, 100, 0), null);
  });

  test("hitTest: ties go to the later pair and to the target", () => {
    const layout = points.layoutImage(100, 100, 100, 100);
    const state = { pairs: [
      { source: [10, 10], target: [10, 10] },
      { source: [10, 10], target: [40, 40] },
    ] };
    assert.deepEqual(points.hitTest(state, layout, 10.5, 10.5), { pair: 1, role: "source", distance: 0 });
    const one = { pairs: [{ source: [10, 10], target: [10, 10] }] };
    assert.deepEqual(points.hitTest(one, layout, 10.5, 10.5), { pair: 0, role: "target", distance: 0 });
  });
});

describe("JSON", () => {
  test("parse the documented format", () => {
    const pairs = parsePairs('{"pairs": [{"source": [120, 80], "target": [160, 96.5]}]}');
    assert.deepEqual(pairs, [{ source: [120, 80], target: [160, 96.5] }]);
  });

  test("empty text and an empty list mean no pairs; extra keys are ignored", () => {
    assert.deepEqual(parsePairs(""), []);
    assert.deepEqual(parsePairs("  \n"), []);
    assert.deepEqual(parsePairs(undefined), []);
    assert.deepEqual(parsePairs('{"pairs": []}'), []);
    assert.deepEqual(parsePairs('{"pairs": [{"source": [1, 2], "target": [3, 4], "note": "x"}], "v": 1}'),
      [{ source: [1, 2], target: [3, 4] }]);
  });

  test("errors come back as drag_wire.js words them (every message: drag_wire_cases.test.mjs)", () => {
    assert.deepEqual(points.stateFromText('{"pairs": [{"source": [1, 2], "target": [3, "a"]}]}'), {
      state: null, error: 'drag_points: pair 1 target must be [x, y] with two finite numbers, got [3,"a"]' });
    assert.match(points.stateFromText(42).error, /^drag_points: expected a JSON string, got number$/);
  });

  test("serialize: integers, complete pairs only, one pair per line", () => {
    const state = { pairs: [
      { source: [10.4, 20.6], target: [30, 40] },
      { source: [1, 2], target: [3, 4] },
      { source: [7, 7], target: null },
    ] };
    assert.equal(points.serializeDragPoints(state),
      '{"pairs": [\n  {"source": [10, 21], "target": [30, 40]},\n  {"source": [1, 2], "target": [3, 4]}\n]}');
    assert.equal(points.serializeDragPoints({ pairs: [] }), '{"pairs": []}');
    assert.equal(points.serializeDragPoints(points.addPoint({ pairs: [] }, [1, 1])), '{"pairs": []}');
  });

  test("serialize keeps a hand-written point outside the image when another pair changes", () => {
    const written = { pairs: [{ source: [500, 2], target: [20, 10] }] };
    const edited = points.addPoint(points.addPoint(written, [5, 5]), [9, 9]);
    assert.equal(points.serializeDragPoints(edited),
      '{"pairs": [\n  {"source": [500, 2], "target": [20, 10]},\n  {"source": [5, 5], "target": [9, 9]}\n]}');
  });

  test("round trip: serialize -> parse -> serialize", () => {
    const state = { pairs: [{ source: [0, 511], target: [255, 3] }, { source: [100, 100], target: [140, 90] }] };
    const text = points.serializeDragPoints(state);
    assert.deepEqual(parsePairs(text), state.pairs);
    assert.equal(points.serializeDragPoints({ pairs: parsePairs(text) }), text);
    assert.deepEqual(JSON.parse(text), { pairs: state.pairs });
  });

  test("stateFromText returns the error instead of throwing", () => {
    assert.deepEqual(points.stateFromText('{"pairs": [{"source": [1, 2], "target": [3, 4]}]}'),
      { state: { pairs: [{ source: [1, 2], target: [3, 4] }] }, error: null });
    const { state, error } = points.stateFromText("{");
    assert.equal(state, null);
    assert.match(error, /^drag_points: not valid JSON \(.+\); expected \{"pairs"/);
  });

  test("pointsOutside names points beyond the image", () => {
    const pairs = [{ source: [63, 47], target: [64, 10] }, { source: [3, 48], target: [63.5, 47.9] }];
    assert.deepEqual(points.pointsOutside(pairs, 64, 48), ["pair 1 target", "pair 2 source"]);
  });
});

describe("image sources", () => {
  test("LoadImage widget values", () => {
    assert.deepEqual(points.parseImageWidgetValue("example.png"), { filename: "example.png", subfolder: "", type: "input" });
    assert.deepEqual(points.parseImageWidgetValue("sub/dir/a b.png"), { filename: "a b.png", subfolder: "sub/dir", type: "input" });
    assert.deepEqual(points.parseImageWidgetValue("clipspace/x.png [input]"), { filename: "x.png", subfolder: "clipspace", type: "input" });
    assert.deepEqual(points.parseImageWidgetValue("out_00001_.png [output]"), { filename: "out_00001_.png", subfolder: "", type: "output" });
    assert.deepEqual(points.parseImageWidgetValue("sub\\win.png", "output"), { filename: "win.png", subfolder: "sub", type: "output" });
    assert.equal(points.parseImageWidgetValue(""), null);
    assert.equal(points.parseImageWidgetValue("sub/"), null);
    assert.equal(points.parseImageWidgetValue(undefined), null);
  });

  test("/view query strings", () => {
    assert.equal(points.viewQuery({ filename: "a b&c.png", subfolder: "sub/dir", type: "input" }),
      "filename=a%20b%26c.png&type=input&subfolder=sub%2Fdir");
    assert.equal(points.viewQuery({ filename: "ComfyUI_temp_00001_.png", subfolder: "", type: "temp" }),
      "filename=ComfyUI_temp_00001_.png&type=temp&subfolder=");
    assert.equal(points.viewQuery({ filename: "x.png" }), "filename=x.png&type=output&subfolder=");
  });
});

describe("brush positions and the result's place", () => {
  test("canvas -> continuous image position, not clamped (the brush may leave the image)", () => {
    const layout = points.layoutImage(400, 200, 100, 100); // scale 2, bars of 100 px left and right
    assert.deepEqual(points.canvasToImagePosition(layout, 100, 0), [0, 0]);
    assert.deepEqual(points.canvasToImagePosition(layout, 111, 33), [5.5, 16.5]);
    assert.deepEqual(points.canvasToImagePosition(layout, 50, 210), [-25, 105]);
    assert.throws(() => points.canvasToImagePosition(null, 1, 1), /no image layout/);
  });

  test("a result cut by VAE Encode's centre crop lies at that crop; other sizes cover the source", () => {
    assert.deepEqual(points.resultPlacement(64, 64, 64, 64, 8), { x: 0, y: 0, width: 64, height: 64 });
    // 67x71 encodes to 8x8 cells: 1 pixel cut on the left (3 in all), 3 on top (7 in all)
    assert.deepEqual(points.resultPlacement(67, 71, 64, 64, 8), { x: 1, y: 3, width: 64, height: 64 });
    assert.deepEqual(points.resultPlacement(64, 64, 128, 128, 8), { x: 0, y: 0, width: 64, height: 64 }); // upscaled
    assert.deepEqual(points.resultPlacement(80, 64, 64, 64, 8), { x: 0, y: 0, width: 80, height: 64 }); // 16 px: resized
    assert.deepEqual(points.resultPlacement(79, 64, 64, 64, 16), { x: 7, y: 0, width: 64, height: 64 }); // a 16x VAE
  });
});
