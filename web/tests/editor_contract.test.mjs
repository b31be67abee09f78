// The names the point editor (web/js/sde_drag_editor.js) shares with its node (nodes/sde_drag.py): read from
// both sources, since the editor module imports ComfyUI's app and cannot load here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const root = new URL("../../", import.meta.url);
const editor = readFileSync(new URL("web/js/sde_drag_editor.js", root), "utf8");
const node = readFileSync(new URL("nodes/sde_drag.py", root), "utf8");

function jsConstant(name) {
  return new RegExp(`const ${name} = "([^"]+)"`).exec(editor)?.[1];
}

test("the UI key of the editor's source image is the node's EDITOR_IMAGE_KEY", () => {
  const python = /^EDITOR_IMAGE_KEY = "([^"]+)"/m.exec(node)?.[1];
  assert.ok(python, "EDITOR_IMAGE_KEY in nodes/sde_drag.py");
  assert.equal(jsConstant("EDITOR_IMAGE_KEY"), python);
});

test("node id and input names the editor looks for are in the node's schema", () => {
  assert.match(node, new RegExp(`node_id="${jsConstant("NODE_CLASS")}"`));
  assert.match(node, new RegExp(`io\\.String\\.Input\\("${jsConstant("TEXT_WIDGET")}"`));
  assert.match(node, new RegExp(`io\\.Image\\.Input\\("${jsConstant("IMAGE_INPUT")}"`));
});
