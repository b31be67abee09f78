// The names the point editor uses for its node, checked against the node's real schema: the pack's nodes as the
// /object_info of a running ComfyUI serves them (tests/data/pack_object_info.json, written by
// `python -m tools.schema_snapshot --write` and checked against a live server by the ComfyUI tier).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { NO_POINTS, NODE_NAMES } from "../js/drag_wire.js";
import { CUSTOM_PRESET, presetSteps } from "../js/step_presets.js";

const SCHEMA = JSON.parse(readFileSync(new URL("../../tests/data/pack_object_info.json", import.meta.url), "utf8"));
const node = SCHEMA[NODE_NAMES.type];

/** [type, options, "required" | "optional"] of the node's input `name`, or null. */
function input(name) {
  for (const group of ["required", "optional"]) {
    const spec = node?.input?.[group]?.[name];
    if (spec) return [spec[0], spec[1] ?? {}, group];
  }
  return null;
}

test("the editor's node is in the schema, with a LATENT as its first output (the result's path downstream)", () => {
  assert.ok(node, `${NODE_NAMES.type} in pack_object_info.json`);
  assert.equal(node.output[0], "LATENT");
});

test("drag_points is a required multiline STRING whose default is the editor's empty text", () => {
  const [type, options, group] = input(NODE_NAMES.points);
  assert.deepEqual([type, options.multiline, group], ["STRING", true, "required"]);
  assert.equal(options.default, NO_POINTS);
});

test("editor_mask is an optional, socketless STRING that defaults to no mask", () => {
  const [type, options, group] = input(NODE_NAMES.mask);
  assert.deepEqual([type, options.socketless, options.default, group], ["STRING", true, "", "optional"]);
});

test("the image and mask inputs the editor reads have the types its graph walk follows", () => {
  assert.deepEqual(input(NODE_NAMES.image).slice(0, 1), ["IMAGE"]);
  assert.deepEqual(input(NODE_NAMES.maskInput).slice(0, 1), ["MASK"]);
  assert.deepEqual([input(NODE_NAMES.steps)[0], input(NODE_NAMES.downscale)[0]], ["INT", "INT"]);
});

test("every preset names its step count as the editor reads it, and the last one is the editor's custom", () => {
  const [type, options] = input(NODE_NAMES.preset);
  assert.equal(type, "COMBO");
  const presets = options.options;
  assert.equal(presets.at(-1), CUSTOM_PRESET);
  assert.ok(presets.length >= 2);
  for (const preset of presets.slice(0, -1)) assert.ok(Number.isInteger(presetSteps(preset)) && presetSteps(preset) > 0, preset);
  assert.equal(presetSteps(CUSTOM_PRESET), null);
  assert.ok(presets.includes(options.default));
});

test("the editor's widget inputs come in the node's input order before the editor (no widgets_values shift)", () => {
  const order = [...node.input_order.required, ...node.input_order.optional];
  assert.equal(order.at(-1), NODE_NAMES.mask); // the editor widget is added after it and never serialized
  for (const name of Object.values(NODE_NAMES).filter((name) => name !== NODE_NAMES.type)) assert.ok(order.includes(name), name);
});
