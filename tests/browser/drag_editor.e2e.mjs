#!/usr/bin/env node
// Browser end-to-end test of the SDE-Drag point editor (web/js/sde_drag_editor.js) in a real ComfyUI page.
//
//   node tests/browser/drag_editor.e2e.mjs --url http://127.0.0.1:8188 --image sde_edit_test.png \
//        [--out DIR] [--ckpt sde_edit_tiny_sd2.safetensors] [--chromium /usr/bin/chromium] [--no-queue] [--dpr 2]
//        [--example example_workflows/sde_drag_sd15.json] [--mode litegraph | vue-nodes | subgraph]
//
// Needs a running ComfyUI with this pack (and node SDEEdit_SDEDrag), an image in its input folder, the npm
// package playwright-core (npm install at the repo root) and Debian's chromium. tests/test_browser_drag_editor.py
// runs it against tests/comfy_server.py's server. What it checks, in order:
//   0. if example_workflows/sde_drag_sd15.json exists (or --example FILE): loaded, the editor shows its pairs;
//   1. the page loads, the Templates dialog is closed; a LoadImage -> SDE-Drag (image) graph is built with the
//      page's own node definitions, saved and loaded back (app.loadGraphData), and the editor shows the image;
//      the node's default drag_points are read (points outside the small test image are reported), Clear;
//   2. clicks on the canvas make pairs whose image-pixel coordinates in `drag_points` equal the pixels computed
//      independently here from the click positions and the contain/letterbox mapping -- one pair before and one
//      after resizing the node and zooming the graph; the dots are drawn in the right colours at those spots;
//   3. a pending handle is not serialized; right-click deletes a pair; dragging a target moves it; Ctrl+Z /
//      Ctrl+Y undo and redo an editor edit;
//   4. typing into the drag_points textarea updates the editor; invalid JSON shows an error and blocks edits;
//   5. save (graph.serialize + JSON) and reload (loadGraphData) keep the pairs, in the widget and in the editor;
//      graphToPrompt sends drag_points and not the editor widget;
//   6. when the graph can be queued (the test server's tiny SD2 checkpoint and test conditioning node exist),
//      queue it, wait for /history success, and check the editor falls back to the run's preview image once
//      the LoadImage link is removed;
//   7. then (pipelineScenario) LoadImage -> ImageScale -> SDE-Drag -> VAE Decode -> PreviewImage with SaveLatent
//      of source and result: the preset rule and the hidden editor_mask widget; one queue without pairs is
//      refused and fills the editor; brush and erase strokes against an independent rasterisation, the
//      overlay's tint, undo/redo per stroke; two pairs, a run, the result shown; save, reload (mask and pairs
//      back), run again without the cache; a connected LoadImage MASK shown read-only. report.json in --out
//      names the runs for the Python side, which compares the saved latents.
// --mode: litegraph (the default; Comfy.VueNodes.Enabled written off), vue-nodes (written on: steps 0-7 with Vue
// nodes; the editor must sit in a Vue node) or subgraph (LiteGraph; only step 7, with the SDE-Drag node converted
// into a subgraph of its own and opened on the canvas, reopened after every load; the connected-mask check is left
// out, as the subgraph has no mask input).
// Screenshots go to --out. Prints "ok - ..." / "not ok - ..." lines and exits 1 on any failure.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

import { chromium } from "playwright-core";

import { closeDialogs, sleep } from "./page_tools.mjs";

const { values: args } = parseArgs({
  options: {
    url: { type: "string", default: process.env.COMFY_URL ?? "http://127.0.0.1:8188" },
    image: { type: "string", default: "sde_edit_test.png" },
    example: { type: "string", default: new URL("../../example_workflows/sde_drag_sd15.json", import.meta.url).pathname },
    out: { type: "string", default: path.join(process.env.TMPDIR ?? "/tmp", "sde_drag_e2e") },
    ckpt: { type: "string", default: "sde_edit_tiny_sd2.safetensors" },
    chromium: { type: "string", default: process.env.CHROMIUM ?? "/usr/bin/chromium" },
    "no-queue": { type: "boolean", default: false },
    headed: { type: "boolean", default: false },
    dpr: { type: "string", default: "1" }, // device pixel ratio of the page (2: a HiDPI screen)
    // litegraph: nodes drawn by LiteGraph (Comfy.VueNodes.Enabled off); vue-nodes: the setting on; subgraph: LiteGraph,
    // with the SDE-Drag node of the mask-and-run scenario inside a subgraph (opened on the canvas)
    mode: { type: "string", default: "litegraph" },
  },
});

const NODE = "SDEEdit_SDEDrag";
const MODES = ["litegraph", "vue-nodes", "subgraph"];

/** In the page: the SDE-Drag node of the graph the canvas shows (the root graph, or the subgraph opened). */
function installPageHelpers() {
  window.sdeDragNode = (nodeType) => {
    const graph = window.app.canvas?.graph ?? window.app.graph;
    return graph.nodes.find((n) => n.comfyClass === nodeType || n.type === nodeType);
  };
}
const results = [];
let failed = 0;

function check(name, condition, detail = "") {
  results.push({ name, ok: !!condition, detail });
  if (condition) {
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name}${detail ? `\n    ${String(detail).replace(/\n/g, "\n    ")}` : ""}`);
  }
  return !!condition;
}

function equal(name, actual, expected) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  return check(name, a === e, `expected ${e}\n got      ${a}`);
}

async function http(pathname, init) {
  const response = await fetch(args.url + pathname, init);
  if (!response.ok) throw new Error(`${pathname}: HTTP ${response.status}`);
  return response.json();
}

// ---- the independent reference mapping (not the editor's code) -----------------------------------------
// The image is drawn "contained" in the canvas: scale = min(cw/iw, ch/ih), centred. Image pixel (x, y)
// covers [x, x+1) x [y, y+1) in image units; a canvas point maps to the pixel under it.

/** Page position (integers) of the centre of image pixel p, and the pixel a click there must give. */
function clickFor(geom, p) {
  const scale = Math.min(geom.cw / geom.iw, geom.ch / geom.ih);
  const ox = (geom.cw - geom.iw * scale) / 2;
  const oy = (geom.ch - geom.ih * scale) / 2;
  const zx = geom.width / geom.cw; // CSS zoom of the widget (graph scale)
  const zy = geom.height / geom.ch;
  const x = Math.round(geom.left + (ox + (p[0] + 0.5) * scale) * zx);
  const y = Math.round(geom.top + (oy + (p[1] + 0.5) * scale) * zy);
  const cx = (x - geom.left) / zx;
  const cy = (y - geom.top) / zy;
  const clampTo = (v, n) => Math.min(Math.max(v, 0), n - 1);
  const pixel = [clampTo(Math.floor((cx - ox) / scale), geom.iw), clampTo(Math.floor((cy - oy) / scale), geom.ih)];
  return { x, y, pixel, canvas: [cx, cy] };
}

const geomImage = (state) => ({ w: state.imageSize?.[0] ?? Infinity, h: state.imageSize?.[1] ?? Infinity });

// ---- page helpers -------------------------------------------------------------------------------------

async function editorGeometry(page) {
  return page.evaluate((nodeType) => {
    const node = window.sdeDragNode(nodeType);
    const editor = node?.sdeDragEditor;
    if (!editor) return null;
    const rect = editor.canvas.getBoundingClientRect();
    return {
      left: rect.left, top: rect.top, width: rect.width, height: rect.height,
      cw: editor.canvas.clientWidth, ch: editor.canvas.clientHeight,
      iw: editor.image?.naturalWidth ?? 0, ih: editor.image?.naturalHeight ?? 0,
      nodeId: node.id, nodeSize: [node.size[0], node.size[1]], scale: window.app.canvas.ds.scale,
    };
  }, NODE);
}

async function editorState(page) {
  return page.evaluate((nodeType) => {
    const node = window.sdeDragNode(nodeType);
    const editor = node?.sdeDragEditor;
    const widget = node?.widgets?.find((w) => w.name === "drag_points");
    return {
      text: widget?.value ?? null,
      pairs: editor ? JSON.parse(JSON.stringify(editor.state.pairs)) : null,
      error: editor?.error ?? null,
      info: editor?.info?.textContent ?? null,
      imageLabel: editor?.imageLabel ?? null,
      imageLoaded: !!editor?.image,
      imageSize: editor?.image ? [editor.image.naturalWidth, editor.image.naturalHeight] : null,
      imageUrl: editor?.imageUrl ?? null,
      executedFile: editor?.executedFile ?? null,
    };
  }, NODE);
}

/** The editor sits in a Vue node's element (data-node-id) exactly in vue-nodes mode, else on LiteGraph's canvas. */
async function checkNodeRendering(page) {
  const inVueNode = await page.evaluate((nodeType) =>
    !!window.sdeDragNode(nodeType)?.sdeDragEditor?.element.closest("[data-node-id]"), NODE);
  check(`mode ${args.mode}: the editor is ${args.mode === "vue-nodes" ? "inside a Vue node" : "on LiteGraph's canvas"}`,
    inVueNode === (args.mode === "vue-nodes"));
}

async function textPairs(page) {
  const { text } = await editorState(page);
  return JSON.parse(text).pairs;
}

/** RGB of the editor canvas at canvas CSS position (cx, cy). */
async function canvasColor(page, [cx, cy]) {
  return page.evaluate(({ nodeType, cx, cy }) => {
    const node = window.sdeDragNode(nodeType);
    const canvas = node.sdeDragEditor.canvas;
    const ratio = canvas.width / canvas.clientWidth;
    const data = canvas.getContext("2d").getImageData(Math.floor(cx * ratio), Math.floor(cy * ratio), 1, 1).data;
    return [data[0], data[1], data[2]];
  }, { nodeType: NODE, cx, cy });
}

/** Whether the page point (x, y) hits the editor canvas (nothing covers it). */
async function canvasIsOnTop(page, x, y) {
  return page.evaluate(({ x, y }) => document.elementFromPoint(x, y)?.classList.contains("sde-drag-canvas") ?? false, { x, y });
}

/** Clicks a pair's handle, then its target, on the editor canvas, checking each click lands on it. */
async function clickPair(page, geom, pair, number) {
  const clicks = [];
  for (const role of ["source", "target"]) {
    const click = clickFor(geom, pair[role]);
    check(`pair ${number} ${role}: canvas is on top at the click`, await canvasIsOnTop(page, click.x, click.y));
    await page.mouse.click(click.x, click.y);
    clicks.push(click);
    await sleep(100);
  }
  equal(`pair ${number}: reference mapping of the clicks gives the intended pixels`, clicks.map((c) => c.pixel),
    [pair.source, pair.target]);
}

async function redraw(page, ms = 400) {
  await page.evaluate(() => window.app.canvas.setDirty(true, true));
  await sleep(ms);
}

async function waitFor(page, predicate, arg, timeout = 10000) {
  return page.waitForFunction(predicate, arg, { timeout, polling: 100 }).then(() => true, () => false);
}

async function screenshot(page, name) {
  const file = path.join(args.out, name);
  await page.screenshot({ path: file });
  console.log(`# screenshot ${file}`);
  return file;
}

/** After 700 ms, reads read() every 100 ms until done(value) or timeoutMs (the frontend applies undo/redo
 * asynchronously, later on a loaded machine); returns the last value read. */
async function pollUntil(read, done, timeoutMs = 8000) {
  const end = Date.now() + timeoutMs;
  await sleep(700); // the frontend's history settles first: a key pressed during an undo can be lost (1.27)
  let value = await read();
  while (!done(value) && Date.now() < end) {
    await sleep(100);
    value = await read();
  }
  return value;
}

/** Waits until the workflow's change tracker holds `text` (a widget value) in the state it takes as current: its
 * undo or redo has finished. The graph shows an undone state before the frontend's restore ends; a key event in
 * between (the keyup of the next Ctrl+Y) can make the frontend record the half-restored graph as a new step, which
 * empties the redo queue (seen under load on 1.35.9 and 1.27.10). A user's next key press comes much later. */
async function historySettled(page, text) {
  return waitFor(page, (needle) => {
    const tracker = window.app.extensionManager?.workflow?.activeWorkflow?.changeTracker;
    return JSON.stringify(tracker?.activeState ?? null).includes(needle);
  }, JSON.stringify(text), 15000);
}

/** Presses Ctrl+Y and polls until done(read()); once, when the redo has not shown, reports the change tracker's
 * redo queue and the focused element and presses it again (a key press lost under load on 1.35.9; a redo queue
 * emptied by a spurious history step fails both presses). Returns the last value read. */
async function redo(page, read, done) {
  await page.keyboard.press("Control+y");
  const value = await pollUntil(read, done);
  if (done(value)) return value;
  const seen = await page.evaluate(() => {
    const tracker = window.app.extensionManager?.workflow?.activeWorkflow?.changeTracker;
    // what the last recorded step changed: the paths where the state before it and the current state differ
    const differences = [];
    const walk = (before, after, path) => {
      if (differences.length >= 12 || JSON.stringify(before) === JSON.stringify(after)) return;
      if (before && after && typeof before === "object" && typeof after === "object") {
        for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) walk(before[key], after[key], `${path}.${key}`);
      } else {
        differences.push(`${path}: ${JSON.stringify(before)?.slice(0, 80)} -> ${JSON.stringify(after)?.slice(0, 80)}`);
      }
    };
    walk(tracker?.undoQueue?.at?.(-1), tracker?.activeState, "state");
    return {
      redoQueue: tracker?.redoQueue?.length ?? null,
      focused: document.activeElement?.tagName ?? null,
      differences,
    };
  });
  console.log(`# Ctrl+Y not applied within 8 s (redo queue ${seen.redoQueue}, focus ${seen.focused}): pressed again`);
  for (const line of seen.differences) console.log(`#   last history step: ${line}`);
  await page.keyboard.press("Control+y");
  return pollUntil(read, done);
}

/** Whether the version text "major.minor.patch" is below [major, minor]. */
function versionBelow(text, [major, minor]) {
  const [a, b] = String(text).split(".").map(Number);
  return a < major || (a === major && b < minor);
}

/** Serialize the graph, clear the canvas, load the saved text back at the unpanned view and redraw. */
async function saveClearAndReload(page, settleMs) {
  const saved = await page.evaluate(() => JSON.stringify(window.app.graph.serialize()));
  await page.evaluate(() => window.app.graph.clear());
  await sleep(200);
  await page.evaluate((text) => window.app.loadGraphData(JSON.parse(text)), saved);
  await page.evaluate(() => { window.app.canvas.ds.offset = [0, 0]; window.app.canvas.ds.scale = 1; });
  await redraw(page, settleMs);
}

/** Graph-building helpers in the page (window.sdeEditTest): make(type, pos, widget values) adds a node,
 * input(node, name) is the index of its input slot. */
function installGraphHelpers(page) {
  return page.evaluate(() => {
    const { app, LiteGraph } = window;
    const make = (type, pos, values = {}) => {
      const node = LiteGraph.createNode(type);
      node.pos = pos;
      app.graph.add(node);
      for (const [name, value] of Object.entries(values)) {
        const widget = node.widgets.find((w) => w.name === name);
        if (!widget) throw new Error(`${type} has no widget ${name}`);
        widget.value = value;
      }
      return node;
    };
    const input = (node, name) => node.inputs.findIndex((i) => i.name === name);
    window.sdeEditTest = { make, input };
  });
}

// ---- the scenario -------------------------------------------------------------------------------------

async function main() {
  fs.mkdirSync(args.out, { recursive: true });
  const info = await http(`/object_info/${NODE}`).catch(() => ({}));
  if (!info[NODE]) {
    console.log(`not ok - node ${NODE} is not registered on ${args.url}`);
    process.exit(2);
  }
  if (!MODES.includes(args.mode)) {
    console.log(`not ok - --mode ${args.mode}: expected one of ${MODES.join(", ")}`);
    process.exit(2);
  }
  // A fresh user directory opens the Templates dialog; mark the tutorial as done before the page loads. The Vue nodes
  // setting is written for every mode: the server's user settings outlive a page.
  await fetch(`${args.url}/settings/Comfy.TutorialCompleted`, { method: "POST", body: "true" }).catch(() => {});
  await fetch(`${args.url}/settings/Comfy.VueNodes.Enabled`, { method: "POST", body: String(args.mode === "vue-nodes") });

  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: !args.headed,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: Number(args.dpr) });
  const pageErrors = [];
  const consoleErrors = [];
  await page.addInitScript(installPageHelpers);
  page.on("pageerror", (error) => pageErrors.push(String(error?.stack ?? error)));
  page.on("console", (message) => { if (message.type() === "error") consoleErrors.push(message.text()); });

  try {
    await page.goto(args.url + "/", { waitUntil: "networkidle", timeout: 90000 });
    check("page has window.app with a graph", await waitFor(page, () => !!(window.app?.graph && window.app.canvas && window.LiteGraph), null, 60000));
    // extensions register asynchronously after the graph exists
    check("SDE-Drag editor extension registered", await waitFor(page, () =>
      window.app.extensions?.some((e) => e.name === "SDEEdit.SDEDragPointEditor"), null, 30000));
    const frontend = await page.evaluate(() => window.__COMFYUI_FRONTEND_VERSION__ ?? "?");
    console.log(`# ComfyUI frontend ${frontend}, mode ${args.mode}`);
    await sleep(1500);
    const stillOpen = await closeDialogs(page);
    check("no dialog left over the canvas", stillOpen === 0, `${stillOpen} open`);

    if (args.mode === "subgraph") { // the SDE-Drag node inside a subgraph: the mask-and-run scenario
      check("the test server can run the graph (tiny checkpoint, test conditioning)", await canQueue());
      await pipelineScenario(page, frontend);
    } else {
      // ---- 0. the shipped example workflow (if there is one yet): the editor reads its drag_points -----------
      if (fs.existsSync(args.example)) {
        const example = JSON.parse(fs.readFileSync(args.example, "utf8"));
        await page.evaluate((wf) => window.app.loadGraphData(wf), example);
        await redraw(page, 600);
        const state = await editorState(page);
        // expected: the drag_points string stored in the file's widgets_values of its SDE-Drag node
        const stored = (example.nodes ?? []).find((n) => n.type === NODE)?.widgets_values
          ?.find((v) => typeof v === "string" && v.includes('"pairs"'));
        let expected = null;
        try { expected = JSON.parse(stored).pairs; } catch { /* reported below */ }
        check(`example ${path.basename(args.example)}: editor attached and its drag_points parse`,
          state.pairs !== null && state.error === null && Array.isArray(expected), JSON.stringify(state));
        equal("example: editor shows the example's pairs", state.pairs, expected);
        await screenshot(page, "0_example_workflow.png");
        // the example names real model files: the frontend opens its "Missing Models" dialog over the canvas
        check("example: dialogs closed after loading", (await closeDialogs(page)) === 0);
      } else {
        console.log(`# no ${args.example}: example workflow check skipped`);
      }

      // ---- 1. LoadImage -> SDE-Drag, saved and loaded back -----------------------------------------------
      const queueable = !args["no-queue"] && await canQueue();
      await installGraphHelpers(page);
      const built = await page.evaluate(({ nodeType, image, ckpt, queueable, seed }) => {
        const { app } = window;
        const { make, input } = window.sdeEditTest;
        app.graph.clear();
        const load = make("LoadImage", [60, 420], { image });
        const drag = make(nodeType, [480, 60]);
        drag.setSize([480, Math.max(drag.size[1], 760)]);
        load.connect(0, drag, input(drag, "image"));
        if (queueable) {
          const ckptNode = make("CheckpointLoaderSimple", [60, 60], { ckpt_name: ckpt });
          // a fresh seed each run: an unchanged prompt would be served from ComfyUI's cache without onExecuted
          const cond = make("SDEEditTest_Conditioning", [60, 200], { dim: 1024, tokens: 4, pooled_dim: 0, seed, guidance: 0 });
          const control = cond.widgets.find((w) => w.name === "control_after_generate");
          if (control) control.value = "fixed";
          const encode = make("VAEEncode", [300, 560]);
          load.connect(0, encode, input(encode, "pixels"));
          ckptNode.connect(2, encode, input(encode, "vae"));
          // every required input by its type (optional ones such as negative and mask stay unlinked)
          const sources = { MODEL: [ckptNode, 0], VAE: [ckptNode, 2], CONDITIONING: [cond, 0], LATENT: [encode, 0], IMAGE: [load, 0] };
          const required = Object.keys(drag.constructor.nodeData?.input?.required ?? {});
          drag.inputs.forEach((slot, index) => {
            const source = sources[slot.type];
            if (slot.link == null && required.includes(slot.name) && source) source[0].connect(source[1], drag, index);
          });
          // outputs: a LATENT is decoded and previewed, an IMAGE previewed, so the prompt has an output node
          drag.outputs?.forEach((output, slot) => {
            if (output.type === "LATENT") {
              const decode = make("VAEDecode", [1000, 60 + slot * 250]);
              drag.connect(slot, decode, input(decode, "samples"));
              ckptNode.connect(2, decode, input(decode, "vae"));
              const preview = make("PreviewImage", [1240, 60 + slot * 250]);
              decode.connect(0, preview, 0);
            } else if (output.type === "IMAGE") {
              const preview = make("PreviewImage", [1000, 60 + slot * 250]);
              drag.connect(slot, preview, 0);
            }
          });
        }
        app.canvas.ds.offset = [0, 0];
        app.canvas.ds.scale = 1;
        const workflow = JSON.parse(JSON.stringify(app.graph.serialize()));
        return { workflow, links: (drag.inputs.find((i) => i.name === "image") ?? {}).link ?? null };
      }, { nodeType: NODE, image: args.image, ckpt: args.ckpt, queueable, seed: Math.floor(Math.random() * 2 ** 31) });
      check("LoadImage linked to SDE-Drag's image input", built.links != null);
      await page.evaluate((wf) => window.app.loadGraphData(wf), built.workflow);
      await page.evaluate(() => { window.app.canvas.ds.offset = [0, 0]; window.app.canvas.ds.scale = 1; });
      await redraw(page, 800);
      check("editor shows the LoadImage image", await waitFor(page, (nodeType) => {
        const node = window.sdeDragNode(nodeType);
        return node?.sdeDragEditor?.image?.complete && node.sdeDragEditor.image.naturalWidth > 0;
      }, NODE, 15000), JSON.stringify(await editorState(page)));
      let state = await editorState(page);
      await checkNodeRendering(page);
      check("image comes from /view?...&type=input", /\/view\?filename=[^&]+&type=input&subfolder=/.test(state.imageUrl ?? ""), state.imageUrl);
      // the node's default drag_points (an example pair) is read; points outside this small image are reported
      const defaults = JSON.parse(state.text || '{"pairs": []}').pairs;
      equal("editor read the default drag_points", state.pairs, defaults);
      if (defaults.some((pair) => [pair.source, pair.target].some(([x, y]) => x >= geomImage(state).w || y >= geomImage(state).h))) {
        check("default points outside the image are reported", /outside the \d+\u00d7\d+ image/.test(state.info ?? ""), state.info);
      }
      await page.locator(".sde-drag-clear").first().click();
      await sleep(100);
      state = await editorState(page);
      equal("Clear leaves no pairs", [state.text, state.pairs], ['{"pairs": []}', []]);

      let geom = await editorGeometry(page);
      console.log(`# editor canvas ${geom.cw}x${geom.ch} css px at (${geom.left}, ${geom.top}), image ${geom.iw}x${geom.ih}`);
      check("editor canvas has a usable size", geom.cw >= 200 && geom.ch >= 150, JSON.stringify(geom));
      const { iw, ih } = geom;
      // pixels to click, as fractions of the image (64x64 test image: well inside, distinct)
      const at = (fx, fy) => [Math.floor(fx * iw), Math.floor(fy * ih)];
      const want = [
        { source: at(0.25, 0.30), target: at(0.62, 0.36) },
        { source: at(0.50, 0.75), target: at(0.34, 0.55) },
      ];

      // ---- 2. pair 1 at zoom 1 ---------------------------------------------------------------------------
      await clickPair(page, geom, want[0], 1);
      equal("pair 1 in drag_points", await textPairs(page), [want[0]]);
      await screenshot(page, "1_pair1.png");

      // resize the node and zoom the graph, then pair 2
      const before = geom;
      await page.evaluate((nodeType) => {
        const node = window.sdeDragNode(nodeType);
        node.setSize([node.size[0] + 180, node.size[1] - 60]);
        window.app.canvas.ds.scale = 1.15;
        window.app.canvas.ds.offset = [-300, -20];
      }, NODE);
      await redraw(page, 800);
      geom = await editorGeometry(page);
      check("resize: canvas got wider", geom.cw > before.cw + 100, `${before.cw} -> ${geom.cw}`);
      check("zoom: widget is scaled on screen", Math.abs(geom.width / geom.cw - 1.15) < 0.02, `${geom.width}/${geom.cw}`);
      equal("resize keeps the pairs", await textPairs(page), [want[0]]);
      await clickPair(page, geom, want[1], 2);
      equal("two pairs in drag_points, image pixels", await textPairs(page), want);
      state = await editorState(page);
      check("info line counts 2 pairs", /^2 pairs/.test(state.info ?? ""), state.info);

      // drawing: handle dots red, target dots blue, at the pixels' positions
      for (const [index, pair] of want.entries()) {
        const source = await canvasColor(page, clickFor(geom, pair.source).canvas);
        const target = await canvasColor(page, clickFor(geom, pair.target).canvas);
        check(`pair ${index + 1}: handle dot drawn red`, source[0] > 200 && source[1] < 120 && source[2] < 120, JSON.stringify(source));
        check(`pair ${index + 1}: target dot drawn blue`, target[2] > 200 && target[0] < 120, JSON.stringify(target));
      }
      await screenshot(page, "2_two_pairs_resized_zoomed.png");

      // ---- 3. pending handle, right-click delete, drag to move -------------------------------------------
      const extra = clickFor(geom, at(0.8, 0.15));
      await page.mouse.click(extra.x, extra.y);
      await sleep(100);
      state = await editorState(page);
      equal("a pending handle is in the editor", state.pairs.length, 3);
      equal("a pending handle is not serialized", await textPairs(page), want);
      await page.mouse.click(extra.x, extra.y, { button: "right" });
      await sleep(100);
      state = await editorState(page);
      equal("right-click deletes the pending handle", state.pairs, want);
      const extraTarget = clickFor(geom, at(0.85, 0.40));
      await page.mouse.click(extra.x, extra.y);
      await page.mouse.click(extraTarget.x, extraTarget.y);
      await sleep(100);
      equal("third pair added", await textPairs(page), [...want, { source: extra.pixel, target: extraTarget.pixel }]);
      // right-click the first pair's target: pair 1 goes, the others move up
      const firstTarget = clickFor(geom, want[0].target);
      await page.mouse.click(firstTarget.x, firstTarget.y, { button: "right" });
      await sleep(100);
      equal("right-click deletes pair 1", await textPairs(page), [want[1], { source: extra.pixel, target: extraTarget.pixel }]);
      // drag the (new) pair 2's target onto another pixel
      const moved = clickFor(geom, at(0.70, 0.62));
      await page.mouse.move(extraTarget.x, extraTarget.y);
      await page.mouse.down();
      await page.mouse.move((extraTarget.x + moved.x) / 2, (extraTarget.y + moved.y) / 2, { steps: 3 });
      await page.mouse.move(moved.x, moved.y, { steps: 3 });
      await page.mouse.up();
      await sleep(100);
      equal("drag moves a target", await textPairs(page), [want[1], { source: extra.pixel, target: moved.pixel }]);
      // undo / redo: every editor edit is a step of the workflow's history (Ctrl+Z on the graph, not in a text box)
      await page.evaluate(() => document.activeElement?.blur?.());
      const beforeMove = [want[1], { source: extra.pixel, target: extraTarget.pixel }];
      const afterMove = [want[1], { source: extra.pixel, target: moved.pixel }];
      const samePairs = (expected) => (pairs) => JSON.stringify(pairs) === JSON.stringify(expected);
      await page.keyboard.press("Control+z");
      equal("Ctrl+Z undoes the move", await pollUntil(() => textPairs(page), samePairs(beforeMove)), beforeMove);
      check("the undo is finished in the workflow's history", await historySettled(page, (await editorState(page)).text));
      equal("Ctrl+Y redoes it", await redo(page, () => textPairs(page), samePairs(afterMove)), afterMove);
      state = await editorState(page);
      equal("after undo/redo the editor shows the widget's pairs", state.pairs, [want[1], { source: extra.pixel, target: moved.pixel }]);
      // undo and redo rebuild the node: the page must show the rebuilt node's editor (a Vue node kept the old one)
      check("after undo/redo the page shows the node's own editor", await page.evaluate((nodeType) =>
        !!window.sdeDragNode(nodeType)?.sdeDragEditor?.element.isConnected, NODE));
      // Clear, then the two wanted pairs again through the text (hand edit)
      await page.locator(".sde-drag-clear").first().click();
      await sleep(100);
      equal("Clear removes all pairs", await textPairs(page), []);

      // ---- 4. hand edits of the text --------------------------------------------------------------------
      await page.evaluate(({ nodeType, mode }) => {
        const node = window.sdeDragNode(nodeType);
        const widget = node.widgets.find((w) => w.name === "drag_points");
        // LiteGraph mode: the widget's own textarea; Vue nodes: the one the Vue node shows, holding the widget's text
        const own = widget.element ?? widget.inputEl;
        const shown = (t) => t.getBoundingClientRect().width > 0 && getComputedStyle(t).visibility !== "hidden";
        const element = mode === "vue-nodes"
          ? [...document.querySelectorAll("textarea")].find((t) => t !== own && t.value === widget.value && shown(t)) : own;
        element.setAttribute("data-e2e", "drag-points-text");
      }, { nodeType: NODE, mode: args.mode });
      const textarea = page.locator('[data-e2e="drag-points-text"]');
      // a Vue node's text box hands its text to the widget when it loses the focus
      const typeText = async (text) => {
        await textarea.fill(text);
        if (args.mode === "vue-nodes") await textarea.blur();
      };
      await typeText('{"pairs": [{"source": [1, 2], "target": [3, 4]}');
      await sleep(200);
      state = await editorState(page);
      check("invalid JSON typed: editor shows the error", /^drag_points: not valid JSON/.test(state.error ?? "") && /not valid JSON/.test(state.info ?? ""), JSON.stringify(state));
      const blocked = clickFor(geom, at(0.5, 0.5));
      await page.mouse.click(blocked.x, blocked.y);
      await sleep(100);
      equal("invalid JSON: canvas clicks do not overwrite the text", (await editorState(page)).text, '{"pairs": [{"source": [1, 2], "target": [3, 4]}');
      await screenshot(page, "3_invalid_text.png");
      const typed = JSON.stringify({ pairs: want });
      await typeText(typed);
      await sleep(200);
      state = await editorState(page);
      check("valid JSON typed: error gone", state.error === null, state.error);
      equal("valid JSON typed: editor shows the typed pairs", state.pairs, want);

      // ---- 5. save + reload ------------------------------------------------------------------------------
      const prompt = await page.evaluate(async (nodeType) => {
        const node = window.sdeDragNode(nodeType);
        const { output } = await window.app.graphToPrompt();
        return output[String(node.id)]?.inputs ?? null;
      }, NODE);
      check("graphToPrompt: drag_points is sent", prompt && JSON.parse(prompt.drag_points).pairs.length === 2, JSON.stringify(prompt));
      check("graphToPrompt: the editor widget is not sent", prompt && !("drag_editor" in prompt), JSON.stringify(prompt && Object.keys(prompt)));
      await saveClearAndReload(page, 800);
      await waitFor(page, (nodeType) => !!window.sdeDragNode(nodeType)?.sdeDragEditor?.image, NODE, 10000);
      state = await editorState(page);
      equal("reload: drag_points keeps the pairs", JSON.parse(state.text).pairs, want);
      equal("reload: editor re-read the pairs", state.pairs, want);
      geom = await editorGeometry(page);
      for (const [index, pair] of want.entries()) {
        const source = await canvasColor(page, clickFor(geom, pair.source).canvas);
        check(`reload: pair ${index + 1} handle drawn`, source[0] > 200 && source[1] < 120, JSON.stringify(source));
      }
      await screenshot(page, "4_reloaded.png");

      // ---- 6. queue -------------------------------------------------------------------------------------
      if (!queueable) {
        console.log("# queue step skipped (no tiny checkpoint / test conditioning node, or --no-queue)");
      } else {
        const { entry } = await queueAndWait(page);
        const error = entry?.status?.messages?.find((m) => m[0] === "execution_error")?.[1];
        check("queued workflow finished with success", entry?.status?.status_str === "success",
          entry ? JSON.stringify(error ?? entry.status).slice(0, 2000) : "no /history entry within 300 s");
        const sentPairs = entry ? JSON.parse(Object.values(entry.prompt[2]).find((n) => n.class_type === NODE).inputs.drag_points).pairs : null;
        equal("queued prompt carried the pairs", sentPairs, want);
        const gotPreview = await waitFor(page, (nodeType) =>
          !!window.sdeDragNode(nodeType)?.sdeDragEditor?.executedFile, NODE, 10000);
        check("onExecuted: the run's preview image reached the editor", gotPreview, JSON.stringify(await editorState(page)));
        const drawnPreviews = await page.evaluate((nodeType) =>
          window.sdeDragNode(nodeType)?.imgs?.length ?? 0, NODE);
        equal("the frontend draws no second preview under the node", drawnPreviews, 0);
        if (gotPreview) {
          await page.evaluate((nodeType) => {
            const node = window.sdeDragNode(nodeType);
            node.disconnectInput(node.inputs.findIndex((i) => i.name === "image"));
          }, NODE);
          await redraw(page, 300);
          const fell = await waitFor(page, (nodeType) => {
            const editor = window.sdeDragNode(nodeType)?.sdeDragEditor;
            return editor?.imageLabel === "last run" && editor.image?.naturalWidth > 0;
          }, NODE, 10000);
          state = await editorState(page);
          check("without the LoadImage link the editor shows the run's preview (type=temp)", fell && /type=temp/.test(state.imageUrl), JSON.stringify(state));
          equal("the pairs are still there", JSON.parse(state.text).pairs, want);
          await screenshot(page, "5_after_run_preview.png");
        }
        await pipelineScenario(page, frontend);
      }
    }

    const ours = pageErrors.filter((e) => /sde_drag|drag_points|sdeDrag/i.test(e));
    check("no page errors from the editor", ours.length === 0, ours.join("\n"));
    if (pageErrors.length) console.log(`# other page errors:\n#   ${pageErrors.join("\n#   ").slice(0, 3000)}`);
    if (consoleErrors.length) console.log(`# console errors (${consoleErrors.length}):\n#   ${consoleErrors.slice(0, 15).join("\n#   ").slice(0, 3000)}`);
  } catch (error) {
    check("scenario ran to the end", false, error?.stack ?? String(error));
    await screenshot(page, "error.png").catch(() => {});
  } finally {
    await browser.close();
  }
  const passed = results.length - failed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

/** Queues the page's graph and waits for its /history entry: { id, entry } (entry null after 300 s). */
async function queueAndWait(page) {
  const historyBefore = new Set(Object.keys(await http("/history")));
  await page.evaluate(() => window.app.queuePrompt(0));
  for (let i = 0; i < 600; i++) {
    await sleep(500);
    const history = await http("/history");
    const found = Object.entries(history).find(([id, item]) => !historyBefore.has(id) && item.status?.completed !== undefined);
    if (found) return { id: found[0], entry: found[1] };
  }
  return { id: null, entry: null };
}

// ---- 7. mask brush, image before any run, result, reload ----------------------------------------------
// An independent reference of the brush (not the editor's code): a stroke paints the pixels whose centres lie
// within size / 2 of the segment between its end points; pixels within 0.01 px of that border are left out of
// the comparison (the page and this script may round the pointer's position differently).

function capsule(width, height, from, to, size) {
  const radius = size / 2;
  const inside = new Uint8Array(width * height);
  const border = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [px, py] = [x + 0.5, y + 0.5];
      const [dx, dy] = [to[0] - from[0], to[1] - from[1]];
      const t = Math.min(1, Math.max(0, ((px - from[0]) * dx + (py - from[1]) * dy) / (dx * dx + dy * dy || 1)));
      const distance = Math.hypot(px - from[0] - t * dx, py - from[1] - t * dy);
      inside[y * width + x] = distance <= radius ? 1 : 0;
      border[y * width + x] = Math.abs(distance - radius) < 0.01 ? 1 : 0;
    }
  }
  return { inside, border };
}

/** Pixels where the editor's mask bits and the reference differ, leaving out the reference's border pixels. */
function maskMismatches(bits, reference) {
  const wrong = [];
  reference.inside.forEach((want, i) => { if (!reference.border[i] && bits[i] !== want) wrong.push(i); });
  return wrong;
}

/** The page position (integers) over image position p and the image position the editor reads there. */
function pagePointFor(geom, p) {
  const scale = Math.min(geom.cw / geom.iw, geom.ch / geom.ih);
  const ox = (geom.cw - geom.iw * scale) / 2;
  const oy = (geom.ch - geom.ih * scale) / 2;
  const x = Math.round(geom.left + (ox + p[0] * scale) * geom.width / geom.cw);
  const y = Math.round(geom.top + (oy + p[1] * scale) * geom.height / geom.ch);
  return { x, y, image: [((x - geom.left) * geom.cw / geom.width - ox) / scale, ((y - geom.top) * geom.ch / geom.height - oy) / scale] };
}

/** One brush stroke with the mouse between two image positions, in a straight line (every move on it). */
async function brushStroke(page, geom, from, to) {
  const a = pagePointFor(geom, from);
  const b = pagePointFor(geom, to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps: 8 });
  await page.mouse.up();
  await sleep(200);
  return [a.image, b.image];
}

async function maskState(page) {
  return page.evaluate((nodeType) => {
    const node = window.sdeDragNode(nodeType);
    const editor = node.sdeDragEditor;
    return {
      text: node.widgets.find((w) => w.name === "editor_mask")?.value ?? null,
      bits: editor.mask ? Array.from(editor.mask.bits) : null,
      size: editor.mask ? [editor.mask.width, editor.mask.height] : null,
      linked: editor.linkedMask.mask ? Array.from(editor.linkedMask.mask.bits) : null,
      info: editor.info.textContent,
    };
  }, NODE);
}

/** RGB of the shown source image (`source`) or of the last result (`result`) at image pixel p. */
async function imagePixel(page, which, p) {
  return page.evaluate(({ nodeType, which, p }) => {
    const editor = window.sdeDragNode(nodeType).sdeDragEditor;
    const image = which === "result" ? editor.result.image : editor.image;
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    return Array.from(context.getImageData(p[0], p[1], 1, 1).data.slice(0, 3));
  }, { nodeType: NODE, which, p });
}

const near = (a, b, tolerance) => a.every((v, i) => Math.abs(v - b[i]) <= tolerance);
const blend = (colour, over, alpha) => colour.map((v, i) => v * (1 - alpha) + over[i] * alpha);

/**
 * LoadImage -> ImageScale (same size, so no loader sits right before SDE-Drag) -> VAE Encode and SDE-Drag's image;
 * SDE-Drag -> VAE Decode -> PreviewImage, and SaveLatent of the source and of the result for the Python side.
 * One queue without pairs fills the editor; a brush stroke and an erase stroke paint the mask (checked against
 * the reference, undo/redo one stroke each); two pairs; a run shows its result in the editor; the saved workflow
 * reloads with mask and pairs and runs again after /free (no cache). The connected mask of LoadImage is shown
 * read-only. Writes report.json (prompt ids and node ids) for tests/test_browser_drag_editor.py, which compares
 * the saved latents bit for bit.
 */
async function pipelineScenario(page, frontend) {
  await installGraphHelpers(page);
  const ids = await page.evaluate(({ nodeType, image, ckpt, seed }) => {
    const { app } = window;
    const { make, input } = window.sdeEditTest;
    app.graph.clear();
    const load = make("LoadImage", [0, 500], { image });
    const scale = make("ImageScale", [300, 500], { upscale_method: "nearest-exact", width: 64, height: 64, crop: "disabled" });
    const loader = make("CheckpointLoaderSimple", [0, 0], { ckpt_name: ckpt });
    const cond = make("SDEEditTest_Conditioning", [0, 160], { dim: 1024, tokens: 4, pooled_dim: 0, seed, guidance: 0 });
    const control = cond.widgets.find((w) => w.name === "control_after_generate");
    if (control) control.value = "fixed";
    const encode = make("VAEEncode", [300, 700]);
    const drag = make(nodeType, [560, 0], { control_after_generate: "fixed" }); // the reloaded run: the same seed
    drag.setSize([480, Math.max(drag.size[1], 820)]);
    const decode = make("VAEDecode", [1100, 0]);
    const preview = make("PreviewImage", [1300, 0]);
    const saveSource = make("SaveLatent", [1100, 500], { filename_prefix: "latents/sde_drag_e2e_source" });
    const saveResult = make("SaveLatent", [1100, 300], { filename_prefix: "latents/sde_drag_e2e_result" });
    load.connect(0, scale, input(scale, "image"));
    scale.connect(0, encode, input(encode, "pixels"));
    loader.connect(2, encode, input(encode, "vae"));
    scale.connect(0, drag, input(drag, "image"));
    loader.connect(0, drag, input(drag, "model"));
    cond.connect(0, drag, input(drag, "positive"));
    encode.connect(0, drag, input(drag, "latent"));
    encode.connect(0, saveSource, input(saveSource, "samples"));
    drag.connect(0, decode, input(decode, "samples"));
    loader.connect(2, decode, input(decode, "vae"));
    decode.connect(0, preview, 0);
    drag.connect(0, saveResult, input(saveResult, "samples"));
    drag.widgets.find((w) => w.name === "drag_points").value = '{"pairs": []}';
    app.canvas.ds.offset = [0, 0];
    app.canvas.ds.scale = 1;
    return { drag: String(drag.id), load: load.id, saveSource: String(saveSource.id), saveResult: String(saveResult.id) };
  }, { nodeType: NODE, image: args.image, ckpt: args.ckpt, seed: Math.floor(Math.random() * 2 ** 31) });
  // Before 1.49 the graph is saved and loaded once, as a user's workflow is, before the history steps below: on
  // 1.27.10 and 1.35.9 a graph made in the session serializes unlike the same graph loaded (widgets_values of nodes
  // without widgets, extra.workflowRendererVersion, an input's shape on a subgraph node), so the undo of a stroke
  // restored a state that a stray history check then took for a new step, emptying the redo queue (under load: 1 in
  // 8 subgraph runs on 1.27.10, once in a full 0.8.0 tier in litegraph mode). Not on 1.49.6: a workflow loaded again
  // there keeps the widget values of its subgraph's first load (seen with a core CLIPTextEncode as much as with
  // SDE-Drag), so the save-and-reload checks below would fail in subgraph mode.
  if (args.mode === "subgraph") await openDragSubgraph(page, false);
  if (versionBelow(frontend, [1, 49])) {
    await saveClearAndReload(page, 600);
  }
  if (args.mode === "subgraph") {
    const inside = await openDragSubgraph(page);
    check("subgraph: the SDE-Drag node is inside a subgraph, opened on the canvas", inside.opened, JSON.stringify(inside));
    ids.drag = inside.executionId; // the prompt names the node by the subgraph node's id and its own
  }
  await redraw(page, 600);
  const widgetValue = (name) => page.evaluate(({ nodeType, name }) =>
    window.sdeDragNode(nodeType).widgets.find((w) => w.name === name).value, { nodeType: NODE, name });

  // ---- the preset rule, and the editor_mask widget hidden ------------------------------------------
  equal("a new node shows its preset's step count in steps", [await widgetValue("preset"), await widgetValue("steps")], ["fast (30 steps)", 30]);
  const presetRule = await page.evaluate((nodeType) => {
    const node = window.sdeDragNode(nodeType);
    const widget = (name) => node.widgets.find((w) => w.name === name);
    const seen = [];
    const set = (name, value) => { widget(name).value = value; widget(name).callback?.(value); seen.push([widget("preset").value, widget("steps").value]); };
    set("preset", "paper (120 steps)");
    set("steps", 120);
    set("steps", 4);
    const mask = widget("editor_mask");
    return { seen, hidden: !!mask?.hidden && !!mask?.options?.hidden && node.isWidgetVisible?.(mask) === false };
  }, NODE);
  equal("preset -> steps; editing steps to another count -> custom", presetRule.seen,
    [["paper (120 steps)", 120], ["paper (120 steps)", 120], ["custom", 4]]);
  check("the editor_mask widget is hidden in the node", presetRule.hidden);

  // ---- one queue with no pairs fills the editor ---------------------------------------------------------
  let state = await editorState(page);
  check("no loader right before SDE-Drag: no image before the run", !state.imageLoaded, JSON.stringify(state));
  const empty = await queueAndWait(page);
  const refusal = empty.entry?.status?.messages?.find((m) => m[0] === "execution_error")?.[1];
  check("queue without pairs: refused, naming drag_points and the editor",
    /^drag_points: no pairs yet; the node's point editor now shows the image/.test(refusal?.exception_message ?? ""),
    JSON.stringify(refusal ?? empty.entry?.status).slice(0, 1500));
  const filled = await waitFor(page, (nodeType) => {
    const editor = window.sdeDragNode(nodeType)?.sdeDragEditor;
    return editor?.image?.naturalWidth === 64 && /type=temp/.test(editor.imageUrl ?? "");
  }, NODE, 15000);
  check("queue without pairs: the editor shows the node's image (published before the refusal)", filled, JSON.stringify(await editorState(page)));
  await closeDialogs(page);
  await page.evaluate(() => { window.app.canvas.ds.offset = [0, 0]; window.app.canvas.ds.scale = 1; });
  await redraw(page, 600);
  await screenshot(page, "6_image_before_any_run.png");

  // ---- paint and erase ----------------------------------------------------------------------------------
  let geom = await editorGeometry(page);
  await page.locator(".sde-drag-tool-brush").first().click();
  await page.locator(".sde-drag-brush-size").first().fill("24");
  await page.evaluate(() => document.activeElement?.blur?.());
  const painted = await brushStroke(page, geom, [10.3, 30.6], [54.2, 30.6]);
  let mask = await maskState(page);
  const paintReference = capsule(64, 64, painted[0], painted[1], 24);
  check("brush: the mask has the image's size", JSON.stringify(mask.size) === "[64,64]", JSON.stringify(mask.size));
  const paintWrong = mask.bits ? maskMismatches(mask.bits, paintReference) : ["no mask"];
  check("brush: the stroke painted the capsule the reference computes", paintWrong.length === 0, `${paintWrong.length} pixels differ: ${paintWrong.slice(0, 10)}`);
  check("brush: editor_mask holds the run-length JSON", /^\{"size":\[64,64\],"runs":\[[\d,]+\]\}$/.test(mask.text ?? ""), (mask.text ?? "").slice(0, 200));
  const afterPaint = mask.text;
  // the editable area is tinted, the rest dimmed
  await redraw(page, 300);
  const inPaint = [32, 30];
  const outPaint = [32, 60];
  const tinted = await canvasColor(page, clickFor(geom, inPaint).canvas);
  const dimmed = await canvasColor(page, clickFor(geom, outPaint).canvas);
  const sourceIn = await imagePixel(page, "source", inPaint);
  const sourceOut = await imagePixel(page, "source", outPaint);
  check("overlay: a painted pixel is drawn tinted", near(tinted, blend(sourceIn, [80, 200, 255], 105 / 255), 4), `${tinted} vs source ${sourceIn}`);
  check("overlay: a kept pixel is drawn dimmed", near(dimmed, blend(sourceOut, [0, 0, 0], 115 / 255), 4), `${dimmed} vs source ${sourceOut}`);
  await page.locator(".sde-drag-tool-erase").first().click();
  await page.locator(".sde-drag-brush-size").first().fill("6");
  await page.evaluate(() => document.activeElement?.blur?.());
  const erased = await brushStroke(page, geom, [32.4, 33.1], [36.4, 33.1]);
  mask = await maskState(page);
  const eraseReference = capsule(64, 64, erased[0], erased[1], 6);
  const both = {
    inside: paintReference.inside.map((v, i) => (v && !eraseReference.inside[i] ? 1 : 0)),
    border: paintReference.border.map((v, i) => v || eraseReference.border[i]),
  };
  const eraseWrong = mask.bits ? maskMismatches(mask.bits, both) : ["no mask"];
  check("erase: the stroke cleared the capsule the reference computes", eraseWrong.length === 0, `${eraseWrong.length} pixels differ`);
  const afterErase = mask.text;
  const maskText = async () => (await maskState(page)).text;
  await page.keyboard.press("Control+z");
  equal("Ctrl+Z undoes the erase stroke (one history step per stroke)",
    await pollUntil(maskText, (text) => text === afterPaint) === afterPaint, true);
  check("the undo of the stroke is finished in the workflow's history", await historySettled(page, afterPaint));
  equal("Ctrl+Y redoes it", await redo(page, maskText, (text) => text === afterErase) === afterErase, true);
  await screenshot(page, "7_mask_painted.png");

  // ---- two pairs in the painted area, then run ------------------------------------------------------------
  await page.locator(".sde-drag-tool-points").first().click();
  geom = await editorGeometry(page);
  const pairs = [{ source: [16, 28], target: [40, 30] }, { source: [44, 36], target: [24, 34] }];
  await clickPair(page, geom, pairs[0], 1);
  await clickPair(page, geom, pairs[1], 2);
  equal("two pairs in drag_points", await textPairs(page), pairs);
  const first = await queueAndWait(page);
  check("run with mask and pairs: success", first.entry?.status?.status_str === "success",
    JSON.stringify(first.entry?.status?.messages?.find((m) => m[0] === "execution_error") ?? first.entry?.status).slice(0, 2000));
  const sent = first.entry ? first.entry.prompt[2][ids.drag].inputs : {};
  equal("the prompt carried the painted mask", sent.editor_mask === afterErase, true);
  const shown = await waitFor(page, (nodeType) =>
    !!window.sdeDragNode(nodeType)?.sdeDragEditor?.result?.image, NODE, 15000);
  check("the result of the run reached the editor (from the PreviewImage downstream)", shown);
  if (shown) {
    await page.locator(".sde-drag-result").first().click();
    await redraw(page, 400);
    // the pixel where the edit changed the image most, and one far from it
    const changed = await page.evaluate((nodeType) => {
      const editor = window.sdeDragNode(nodeType).sdeDragEditor;
      const read = (image) => {
        const canvas = document.createElement("canvas");
        canvas.width = image.naturalWidth;
        canvas.height = image.naturalHeight;
        const context = canvas.getContext("2d");
        context.drawImage(image, 0, 0);
        return context.getImageData(0, 0, canvas.width, canvas.height).data;
      };
      const [a, b] = [read(editor.image), read(editor.result.image)];
      let best = { i: 0, difference: -1 };
      for (let i = 0; i < a.length; i += 4) {
        const difference = Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]);
        if (difference > best.difference) best = { i: i / 4, difference };
      }
      return { pixel: [best.i % 64, Math.floor(best.i / 64)], difference: best.difference, showing: editor.showResult };
    }, NODE);
    check("Result: the editor shows the result", changed.showing && changed.difference > 6, JSON.stringify(changed));
    const drawn = await canvasColor(page, clickFor(geom, changed.pixel).canvas);
    const resultColour = await imagePixel(page, "result", changed.pixel);
    check("Result: the canvas shows the result's pixel, not the source's", near(drawn, resultColour, 3), `${drawn} vs result ${resultColour}`);
    await screenshot(page, "8_result.png");
    await page.locator(".sde-drag-result").first().click();
  }

  // ---- save, reload, run again without the cache -----------------------------------------------------------
  await page.evaluate((nodeType) => { // steps tampered with: loading applies the preset rule again
    const node = window.sdeDragNode(nodeType);
    node.widgets.find((w) => w.name === "preset").value = "fast (30 steps)";
    node.widgets.find((w) => w.name === "steps").value = 60;
  }, NODE);
  const savedFast = await page.evaluate(() => JSON.stringify(window.app.graph.serialize()));
  await page.evaluate((text) => window.app.loadGraphData(JSON.parse(text)), savedFast);
  if (args.mode === "subgraph") await openDragSubgraph(page);
  await redraw(page, 400);
  equal("loading a workflow shows its preset's step count", [await widgetValue("preset"), await widgetValue("steps")], ["fast (30 steps)", 30]);
  await page.evaluate((nodeType) => {
    const node = window.sdeDragNode(nodeType);
    node.widgets.find((w) => w.name === "preset").value = "custom";
    node.widgets.find((w) => w.name === "steps").value = 4;
  }, NODE);
  await saveClearAndReload(page, 600);
  if (args.mode === "subgraph") {
    check("subgraph: the reloaded workflow keeps the SDE-Drag node in its subgraph", (await openDragSubgraph(page)).opened);
    await redraw(page, 600);
  }
  mask = await maskState(page);
  equal("reload: editor_mask keeps the painted mask", mask.text === afterErase, true);
  check("reload: the editor decoded it (the erased hole included)", mask.bits && maskMismatches(mask.bits, both).length === 0);
  equal("reload: drag_points keeps the pairs", await textPairs(page), pairs);
  equal("reload: the editor shows the pairs", (await editorState(page)).pairs, pairs);
  await fetch(`${args.url}/free`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ free_memory: true }) });
  await sleep(1500);
  const second = await queueAndWait(page);
  check("reloaded workflow: run succeeds", second.entry?.status?.status_str === "success", JSON.stringify(second.entry?.status).slice(0, 2000));
  const cached = second.entry?.status?.messages?.find((m) => m[0] === "execution_cached")?.[1]?.nodes ?? [];
  check("reloaded workflow: SDE-Drag ran again (not from the cache)", !cached.map(String).includes(ids.drag),
    `cached ${JSON.stringify(cached)}; prompt ${second.id} (first run ${first.id}); SDE-Drag inputs first ` +
    `${JSON.stringify(first.entry?.prompt?.[2]?.[ids.drag]?.inputs ?? null).slice(0, 300)}`);
  equal("reloaded workflow: the same prompt inputs for SDE-Drag", second.entry?.prompt[2][ids.drag].inputs, sent);

  if (args.mode !== "subgraph") await connectedMaskScenario(page, ids, afterErase);
  const report = { drag: ids.drag, saveSource: ids.saveSource, saveResult: ids.saveResult, runs: [first.id, second.id] };
  fs.writeFileSync(path.join(args.out, "report.json"), JSON.stringify(report, null, 1));
  console.log(`# report ${JSON.stringify(report)}`);
}

/** A connected LoadImage MASK is shown, read-only: the brush does not paint. */
async function connectedMaskScenario(page, ids, afterErase) {
  await page.evaluate(({ nodeType, load }) => {
    const node = window.sdeDragNode(nodeType);
    window.app.graph.getNodeById(load).connect(1, node, node.inputs.findIndex((i) => i.name === "mask"));
  }, { nodeType: NODE, load: ids.load });
  const linked = await waitFor(page, (nodeType) =>
    !!window.sdeDragNode(nodeType)?.sdeDragEditor?.linkedMask?.mask, NODE, 15000);
  const mask = await maskState(page);
  const leftHalf = Array.from({ length: 64 * 64 }, (_, i) => (i % 64 < 32 ? 1 : 0)); // the test image's alpha 0 half
  check("connected LoadImage MASK: the editor shows it (1 - alpha, /view channel=a)", linked && JSON.stringify(mask.linked) === JSON.stringify(leftHalf),
    mask.linked ? `${mask.linked.filter((v, i) => v !== leftHalf[i]).length} pixels differ` : "no linked mask");
  await page.locator(".sde-drag-tool-brush").first().click();
  const geom = await editorGeometry(page);
  await brushStroke(page, geom, [5.5, 5.5], [20.5, 5.5]);
  equal("connected mask: the brush does not paint (read-only)", (await maskState(page)).text === afterErase, true);
  check("connected mask: the status says so", /mask input/.test((await maskState(page)).info), (await maskState(page)).info);
  await screenshot(page, "9_connected_mask.png");
}

/**
 * Subgraph mode: the root graph's SDE-Drag node goes into a subgraph of its own (convertToSubgraph, as "Convert to
 * Subgraph" does; links to it cross the subgraph's boundary), and the canvas opens that subgraph at zoom 1. Returns
 * { opened, executionId } (the id the prompt and the websocket use for the inner node: "<subgraph node>:<node>").
 * With `open` false it only converts, and the canvas stays on the root graph.
 */
async function openDragSubgraph(page, open = true) {
  return page.evaluate(({ nodeType, open }) => {
    const { app } = window;
    const root = app.graph.rootGraph ?? app.graph;
    const isDrag = (n) => n.comfyClass === nodeType || n.type === nodeType;
    let holder = root.nodes.find((n) => n.subgraph?.nodes.some(isDrag));
    if (!holder) holder = root.convertToSubgraph(new Set([root.nodes.find(isDrag)])).node;
    if (!open) return { opened: false, executionId: null };
    if (app.canvas.graph !== holder.subgraph) app.canvas.openSubgraph(holder.subgraph, holder);
    app.canvas.ds.offset = [0, 0];
    app.canvas.ds.scale = 1;
    const inner = holder.subgraph.nodes.find(isDrag);
    inner.setSize([480, Math.max(inner.size[1], 820)]);
    app.canvas.setDirty(true, true);
    return { opened: app.canvas.graph === holder.subgraph && !!inner.sdeDragEditor, executionId: `${holder.id}:${inner.id}` };
  }, { nodeType: NODE, open });
}

/** The test server's tiny SD2 checkpoint and conditioning node exist, so the graph can run. */
async function canQueue() {
  try {
    const ckpt = await http("/object_info/CheckpointLoaderSimple");
    const spec = ckpt.CheckpointLoaderSimple.input.required.ckpt_name; // [[names]] or ["COMBO", {options}]
    const names = Array.isArray(spec[0]) ? spec[0] : spec[1]?.options;
    const cond = await http("/object_info/SDEEditTest_Conditioning");
    return Array.isArray(names) && names.includes(args.ckpt) && !!cond.SDEEditTest_Conditioning;
  } catch {
    return false;
  }
}

main().catch((error) => {
  console.log(`not ok - e2e crashed: ${error?.stack ?? error}`);
  process.exit(1);
});
