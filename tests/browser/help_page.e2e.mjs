#!/usr/bin/env node
// Browser check of a node's help page (web/docs/<node id>.md) in a real ComfyUI page.
//
//   node tests/browser/help_page.e2e.mjs --url http://127.0.0.1:8188 [--node SDEEdit_CycleSDEEdit]
//        [--out DIR] [--chromium /usr/bin/chromium]
//
// Needs a running ComfyUI with this pack, the npm package playwright-core (npm install at the repo root) and
// Debian's chromium. tests/test_browser_help_page.py runs it against tests/comfy_server.py's server. It adds the
// node to an empty graph, selects it with a click on its title and clicks the selection toolbox's "Node Info"
// button, as a user does (1.49.6 and 1.35.9 open the properties panel's Info tab, 1.27.10 the node library's help
// page), then checks, against the page file read here:
//   1. the frontend fetched the page from /extensions/<pack folder>/docs/<node id>.md (HTTP 200);
//   2. the documentation panel shows the page's first paragraph (the prose, not the node's description, which the
//      frontend shows when it finds no page) and its section headings;
//   3. the panel's inputs table lists the page's inputs, in order, with their defaults.
// Screenshots go to --out. Prints "ok - ..." / "not ok - ..." lines, then "N passed, M failed"; exits 1 on a failure.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

import { chromium } from "playwright-core";

import { closeDialogs, sleep } from "./page_tools.mjs";

const { values: args } = parseArgs({
  options: {
    url: { type: "string", default: process.env.COMFY_URL ?? "http://127.0.0.1:8188" },
    node: { type: "string", default: "SDEEdit_CycleSDEEdit" },
    out: { type: "string", default: path.join(process.env.TMPDIR ?? "/tmp", "sde_help_page_e2e") },
    chromium: { type: "string", default: process.env.CHROMIUM ?? "/usr/bin/chromium" },
  },
});

const results = [];
function check(name, condition, detail = "") {
  results.push({ name, ok: !!condition });
  console.log(condition ? `ok - ${name}` : `not ok - ${name}${detail ? `\n    ${String(detail).replace(/\n/g, "\n    ")}` : ""}`);
  return !!condition;
}

const squash = (text) => text.replace(/\s+/g, " ").trim();

/** What the page file says, read independently of the frontend: first paragraph, headings, inputs table. */
function readPage(file) {
  const text = fs.readFileSync(file, "utf8");
  const blocks = text.split(/\n\s*\n/);
  const paragraph = blocks.find((block) => !/^\s*(#|<!--|\||-|\d+\.)/.test(block));
  const plain = squash(paragraph.replace(/\*\*|`/g, "").replace(/\[([^\]]*)\]\([^)]*\)/g, "$1"));
  const headings = [...text.matchAll(/^#{1,3} (.+)$/gm)].map((match) => squash(match[1].replace(/`/g, "")));
  const inputsTable = text.split("## Inputs\n")[1].split("\n\n").map((block) => block.trim())
    .find((block) => block.startsWith("|"));
  const rows = inputsTable.split("\n").filter((line) => line.startsWith("|")).slice(2).map((line) => line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim()));
  const inputs = rows.map((cells) => [cells[0].replace(/`/g, ""), cells[2].replace(/`/g, "")]);
  return { plain, headings, inputs };
}

async function main() {
  fs.mkdirSync(args.out, { recursive: true });
  const pageFile = new URL(`../../web/docs/${args.node}.md`, import.meta.url).pathname;
  const expected = readPage(pageFile);
  const info = await (await fetch(`${args.url}/object_info/${args.node}`)).json();
  const nodeDef = info[args.node];
  if (!nodeDef) {
    console.log(`not ok - node ${args.node} is not registered on ${args.url}`);
    process.exit(2);
  }
  const folder = nodeDef.python_module.split(".")[1].split("@")[0];
  const pageUrl = `/extensions/${folder}/docs/${args.node}.md`;
  // A fresh user directory opens the Templates dialog; mark the tutorial as done before the page loads.
  await fetch(`${args.url}/settings/Comfy.TutorialCompleted`, { method: "POST", body: "true" }).catch(() => {});

  const browser = await chromium.launch({
    executablePath: args.chromium,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
      "--disable-quic", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const docResponses = [];
  page.on("response", (response) => {
    if (response.url().includes("/docs/")) docResponses.push([new URL(response.url()).pathname, response.status()]);
  });
  try {
    await page.goto(args.url + "/", { waitUntil: "networkidle", timeout: 90000 });
    await page.waitForFunction(() => !!(window.app?.graph && window.app.canvas && window.LiteGraph), null, { timeout: 60000 });
    console.log(`# ComfyUI frontend ${await page.evaluate(() => window.__COMFYUI_FRONTEND_VERSION__ ?? "?")}`);
    await sleep(1500);
    check("no dialog left over the canvas", (await closeDialogs(page)) === 0);

    // add the node, then select it with a click on its title, as a user does (1.27.10 places its selection
    // toolbox only on a pointer selection)
    const title = await page.evaluate((nodeType) => {
      window.app.graph.clear();
      const node = window.LiteGraph.createNode(nodeType);
      node.pos = [400, 400];
      window.app.graph.add(node);
      window.app.canvas.setDirty(true, true);
      const [x, y] = window.app.canvas.ds.convertOffsetToCanvas([node.pos[0] + 60, node.pos[1] - window.LiteGraph.NODE_TITLE_HEIGHT / 2]);
      const rect = window.app.canvas.canvas.getBoundingClientRect();
      return { x: rect.left + x / (window.devicePixelRatio || 1), y: rect.top + y / (window.devicePixelRatio || 1) };
    }, args.node);
    await sleep(500);
    await page.mouse.click(title.x, title.y);
    await sleep(800);
    // 1.49.6 labels the button "Node Info"; 1.35.9 and 1.27.10 give it only data-testid="info-button"
    const infoButton = page.locator('button[aria-label="Node Info"], [data-testid="info-button"]').first();
    if (!check("the selection toolbox shows a Node Info button", await infoButton.isVisible().catch(() => false))) {
      throw new Error("no Node Info button");
    }
    await infoButton.click();
    const shown = await page.waitForFunction((sentence) => [...document.querySelectorAll(".node-help-content")]
      .some((element) => element.innerText.replace(/\s+/g, " ").includes(sentence)), expected.plain,
    { timeout: 20000, polling: 200 }).then(() => true, () => false);
    await page.screenshot({ path: path.join(args.out, "help_page.png") });

    check(`the frontend fetched ${pageUrl} (200)`, docResponses.some(([url, status]) => url === pageUrl && status === 200),
      JSON.stringify(docResponses));
    const panel = await page.evaluate(() => {
      const element = [...document.querySelectorAll(".node-help-content")].find((e) => e.querySelector("table"));
      if (!element) return null;
      return {
        text: element.innerText.replace(/\s+/g, " "),
        headings: [...element.querySelectorAll("h1, h2, h3")].map((h) => h.innerText.replace(/\s+/g, " ").trim()),
        inputs: [...element.querySelector("table").querySelectorAll("tbody tr")]
          .map((row) => [...row.cells].map((cell) => cell.innerText.trim())).map((cells) => [cells[0], cells[2]]),
      };
    });
    check("the panel shows the page's first paragraph", shown, `expected: ${expected.plain}\n got: ${panel?.text?.slice(0, 600)}`);
    check("the panel does not fall back to the node's description", panel !== null && !panel.text.includes(squash(nodeDef.description)));
    check("the panel shows the page's headings", JSON.stringify(panel?.headings) === JSON.stringify(expected.headings),
      `expected ${JSON.stringify(expected.headings)}\n got      ${JSON.stringify(panel?.headings)}`);
    check(`the panel's inputs table lists the page's ${expected.inputs.length} inputs with their defaults`,
      JSON.stringify(panel?.inputs) === JSON.stringify(expected.inputs),
      `expected ${JSON.stringify(expected.inputs)}\n got      ${JSON.stringify(panel?.inputs)}`);
  } catch (error) {
    check("no exception", false, error?.stack ?? String(error));
    await page.screenshot({ path: path.join(args.out, "failure.png") }).catch(() => {});
  } finally {
    await browser.close();
  }
  const failed = results.filter((result) => !result.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

await main();
