// The names the point editor (web/js/sde_drag_editor.js) shares with its node (nodes/sde_drag.py): read from
// both sources, since the editor module imports ComfyUI's app and cannot load here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const root = new URL("../../", import.meta.url);
const editor = readFileSync(new URL("web/js/sde_drag_editor.js", root), "utf8");
const presets = readFileSync(new URL("web/js/step_presets.js", root), "utf8");
const node = readFileSync(new URL("nodes/sde_drag.py", root), "utf8");

function jsConstant(name, source = editor) {
  return new RegExp(`const ${name} = "([^"]+)"`).exec(source)?.[1];
}

test("the UI key of the editor's source image is the node's EDITOR_IMAGE_KEY", () => {
  const python = /^EDITOR_IMAGE_KEY = "([^"]+)"/m.exec(node)?.[1];
  assert.ok(python, "EDITOR_IMAGE_KEY in nodes/sde_drag.py");
  assert.equal(jsConstant("EDITOR_IMAGE_KEY"), python);
});

test("the websocket message of the node's published image is the node's EDITOR_IMAGE_EVENT", () => {
  const python = /^EDITOR_IMAGE_EVENT = "([^"]+)"/m.exec(node)?.[1];
  assert.ok(python, "EDITOR_IMAGE_EVENT in nodes/sde_drag.py");
  assert.equal(jsConstant("EDITOR_IMAGE_EVENT"), python);
});

test("node id and input names the editor looks for are in the node's schema", () => {
  assert.match(node, new RegExp(`node_id="${jsConstant("NODE_CLASS")}"`));
  assert.match(node, new RegExp(`io\\.String\\.Input\\("${jsConstant("TEXT_WIDGET")}"`));
  assert.match(node, new RegExp(`io\\.String\\.Input\\("${jsConstant("MASK_WIDGET")}", optional=True`));
  assert.match(node, new RegExp(`io\\.Combo\\.Input\\("${jsConstant("PRESET_WIDGET")}"`));
  assert.match(node, new RegExp(`io\\.Int\\.Input\\("${jsConstant("STEPS_WIDGET")}"`));
  assert.match(node, new RegExp(`io\\.Int\\.Input\\("${jsConstant("DOWNSCALE_WIDGET")}"`));
  assert.match(node, new RegExp(`io\\.Image\\.Input\\("${jsConstant("IMAGE_INPUT")}"`));
  assert.match(node, new RegExp(`io\\.Mask\\.Input\\("${jsConstant("MASK_INPUT")}"`));
});

test("every preset of the node names its step count as the editor reads it, and custom is the editor's", async () => {
  const { presetSteps, CUSTOM_PRESET } = await import("../js/step_presets.js");
  const table = /^PRESETS = \{([^}]+)\}/m.exec(node)?.[1];
  assert.ok(table, "PRESETS in nodes/sde_drag.py");
  const entries = [...table.matchAll(/"([^"]+)": (\d+)/g)];
  assert.ok(entries.length >= 2);
  for (const [, name, steps] of entries) assert.equal(presetSteps(name), Number(steps), name);
  assert.match(node, new RegExp(`options=\\[\\*PRESETS, "${CUSTOM_PRESET}"\\]`));
  assert.equal(jsConstant("CUSTOM_PRESET", presets), CUSTOM_PRESET);
});
