// Unit tests of editor_graph.js: the editor's walks through fake LiteGraph graphs (links by id, Reroutes, bypassed
// nodes, subgraphs with their boundary links), as the frontend's public objects hold them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as walk from "../js/editor_graph.js";

/** A fake graph: nodes by numeric id, links in a Map; `subgraphOf(holder)` makes `holder`'s inner graph. */
function fakeGraph(root = null, idsAsStrings = false) {
  const nodes = new Map();
  const links = new Map();
  const graph = {
    nodes: [], links, inputs: [], outputs: [], subgraphs: new Map(),
    getNodeById: (id) => nodes.get(Number(id)) ?? null,
    getLink: (id) => links.get(id),
  };
  graph.rootGraph = root ?? graph;
  graph.idsAsStrings = idsAsStrings;
  /** Adds a node of `type` with inputs [[name, type], ...] and `outputs` output slots. */
  graph.add = (id, type, inputs = [], outputs = 1, extra = {}) => {
    const node = { id, type, graph, mode: 0, ...extra,
      inputs: inputs.map(([name, slotType]) => ({ name, type: slotType, link: null })),
      outputs: Array.from({ length: outputs }, () => ({ links: [] })) };
    nodes.set(id, node);
    graph.nodes.push(node);
    return node;
  };
  /** Links output `fromSlot` of `from` (a node, or "in" for the subgraph's input slot) to `to`'s input. */
  graph.link = (from, fromSlot, to, toSlot) => {
    const id = graph.rootGraph.nextLinkId = (graph.rootGraph.nextLinkId ?? 0) + 1;
    const id_ = (value) => (graph.rootGraph.idsAsStrings ? String(value) : value); // as frontend 1.4x keeps them
    const origin = id_(from === "in" ? walk.SUBGRAPH_INPUT_ID : from.id);
    const target = id_(to === "out" ? walk.SUBGRAPH_OUTPUT_ID : to.id);
    links.set(id, { id, origin_id: origin, origin_slot: fromSlot, target_id: target, target_slot: toSlot });
    if (from === "in") (graph.inputs[fromSlot] ??= { linkIds: [] }).linkIds.push(id);
    else from.outputs[fromSlot].links.push(id);
    if (to === "out") (graph.outputs[toSlot] ??= { linkIds: [] }).linkIds.push(id);
    else to.inputs[toSlot].link = id;
  };
  graph.subgraphOf = (holder) => {
    const inner = fakeGraph(graph.rootGraph);
    holder.subgraph = inner;
    graph.rootGraph.subgraphs.set(holder.id, inner);
    return inner;
  };
  return graph;
}

const IMAGE = [["image", "IMAGE"]];

describe("upstream", () => {
  test("through a Reroute and a bypassed node to the loader, with its output slot", () => {
    const g = fakeGraph();
    const load = g.add(1, "LoadImage", [], 2);
    const reroute = g.add(2, "Reroute", [["", "*"]]);
    const scale = g.add(3, "ImageScale", IMAGE, 1, { mode: walk.BYPASS_MODE });
    const drag = g.add(4, "SDEEdit_SDEDrag", [["model", "MODEL"], ["image", "IMAGE"], ["mask", "MASK"]]);
    g.link(load, 0, reroute, 0);
    g.link(reroute, 0, scale, 0);
    g.link(scale, 0, drag, 1);
    g.link(load, 1, drag, 2);
    assert.deepEqual(walk.inputSource(drag, "image", "IMAGE"), { node: load, kind: "LoadImage", slot: 0 });
    assert.deepEqual(walk.inputSource(drag, "mask", "MASK"), { node: load, kind: "LoadImage", slot: 1 });
    assert.equal(walk.inputSource(drag, "model", "MODEL"), null);
    scale.mode = 0; // no longer bypassed: the scale is the source
    assert.deepEqual(walk.inputSource(drag, "image", "IMAGE"), { node: scale, kind: "ImageScale", slot: 0 });
  });

  for (const strings of [false, true]) test(`from inside a subgraph out to the loader that feeds its holder (ids as ${strings ? "strings" : "numbers"})`, () => {
    const root = fakeGraph(null, strings);
    const load = root.add(1, "LoadImage");
    const holder = root.add(2, "subgraph-uuid", [["model", "MODEL"], ["picture", "IMAGE"]]);
    root.link(load, 0, holder, 1);
    const inner = root.subgraphOf(holder);
    const drag = inner.add(7, "SDEEdit_SDEDrag", IMAGE);
    inner.link("in", 1, drag, 0);
    assert.equal(walk.subgraphHolder(inner), holder);
    assert.equal(walk.subgraphHolder(root), null);
    assert.deepEqual(walk.inputSource(drag, "image", "IMAGE"), { node: load, kind: "LoadImage", slot: 0 });
  });

  test("into a subgraph that outputs a loader's image, and through it when it passes its input on", () => {
    const root = fakeGraph();
    const outer = root.add(1, "LoadImage");
    const holder = root.add(2, "subgraph-uuid", IMAGE, 2);
    const drag = root.add(3, "SDEEdit_SDEDrag", [["image", "IMAGE"], ["other", "IMAGE"]]);
    root.link(outer, 0, holder, 0);
    root.link(holder, 0, drag, 0);
    root.link(holder, 1, drag, 1);
    const inner = root.subgraphOf(holder);
    const load = inner.add(8, "LoadImageOutput");
    inner.link(load, 0, "out", 0);
    inner.link("in", 0, "out", 1);
    assert.deepEqual(walk.inputSource(drag, "image", "IMAGE"), { node: load, kind: "LoadImageOutput", slot: 0 });
    assert.deepEqual(walk.inputSource(drag, "other", "IMAGE"), { node: outer, kind: "LoadImage", slot: 0 });
  });

  test("a cycle of Reroutes ends at the hop limit", () => {
    const g = fakeGraph();
    const a = g.add(1, "Reroute", [["", "*"]]);
    const b = g.add(2, "Reroute", [["", "*"]]);
    const drag = g.add(3, "SDEEdit_SDEDrag", IMAGE);
    g.link(a, 0, b, 0);
    g.link(b, 0, a, 0);
    g.link(b, 0, drag, 0);
    assert.equal(walk.inputSource(drag, "image", "IMAGE"), null);
  });
});

describe("downstream", () => {
  test("along output links, within the hop limit, without the start node", () => {
    const g = fakeGraph();
    const drag = g.add(1, "drag", [["in", "*"]]);
    const decode = g.add(2, "decode", [["samples", "LATENT"]]);
    const save = g.add(3, "save", [["samples", "LATENT"]]);
    const preview = g.add(4, "preview", [["images", "IMAGE"]], 2);
    const far = g.add(5, "far", [["images", "IMAGE"]]);
    g.link(drag, 0, decode, 0);
    g.link(drag, 0, save, 0);
    g.link(decode, 0, preview, 0);
    g.link(preview, 0, far, 0);
    g.link(preview, 1, drag, 0); // a loop back to the start
    const names = (set) => [...set].map((n) => n.type).sort();
    assert.deepEqual(names(walk.downstreamNodes(drag, 2)), ["decode", "preview", "save"]);
    assert.deepEqual(names(walk.downstreamNodes(drag, 8)), ["decode", "far", "preview", "save"]);
    assert.deepEqual(names(walk.downstreamNodes(far, 8)), []);
  });

  for (const strings of [false, true]) test(`out of the subgraph the node is in, and into a subgraph downstream (ids as ${strings ? "strings" : "numbers"})`, () => {
    const root = fakeGraph(null, strings);
    const holder = root.add(1, "holder", [], 1);
    const decode = root.add(2, "decode", [["samples", "LATENT"]]);
    const other = root.add(3, "other-holder", [["samples", "LATENT"]]);
    root.link(holder, 0, decode, 0);
    root.link(holder, 0, other, 0);
    const inner = root.subgraphOf(holder);
    const drag = inner.add(7, "drag", [], 1);
    inner.link(drag, 0, "out", 0);
    const deeper = root.subgraphOf(other);
    const preview = deeper.add(9, "preview", [["images", "IMAGE"]]);
    deeper.link("in", 0, preview, 0);
    assert.deepEqual(new Set([...walk.downstreamNodes(drag, 2)].map((n) => n.type)), new Set(["decode", "other-holder", "preview"]));
  });
});

describe("node ids", () => {
  function graph(nodes) {
    const byId = new Map(nodes.map((node) => [node.id, node]));
    return { getNodeById: (id) => byId.get(id) ?? null };
  }

  test("execution ids name root nodes and nodes inside subgraphs", () => {
    const inner = { id: 12 };
    const deeper = { id: 3 };
    const subgraphNode = { id: 5, subgraph: graph([inner, { id: 7, subgraph: graph([deeper]) }]) };
    const root = graph([{ id: 12 }, subgraphNode]);
    assert.equal(walk.nodeByExecutionId(root, "5"), subgraphNode);
    assert.equal(walk.nodeByExecutionId(root, 5), subgraphNode);
    assert.equal(walk.nodeByExecutionId(root, "5:12"), inner);
    assert.equal(walk.nodeByExecutionId(root, "5:7:3"), deeper);
    assert.notEqual(walk.nodeByExecutionId(root, "12"), inner);
    for (const missing of ["9", "5:9", "12:1", "", null]) assert.equal(walk.nodeByExecutionId(root, missing), null, String(missing));
  });

  test("a node's key is its execution id: the ids of the subgraph holders above it, then its own", () => {
    const root = fakeGraph();
    const holder = root.add(5, "holder");
    const inner = root.subgraphOf(holder);
    const innerHolder = inner.add(7, "holder");
    const deeper = inner.subgraphOf(innerHolder);
    assert.equal(walk.nodeKey(root.add(3, "drag")), "3");
    assert.equal(walk.nodeKey(inner.add(3, "drag")), "5:3");
    assert.equal(walk.nodeKey(deeper.add(3, "drag")), "5:7:3");
    assert.equal(walk.nodeByExecutionId(root, "5:7:3"), deeper.getNodeById(3));
  });

  test("links of object-based graphs (older frontends) are read too", () => {
    assert.deepEqual(walk.linkById({ links: { 4: { id: 4 } } }, 4), { id: 4 });
    assert.deepEqual(walk.linkById({ links: new Map([[4, { id: 4 }]]) }, 4), { id: 4 });
    assert.equal(walk.linkById({ links: {} }, null), null);
  });
});
