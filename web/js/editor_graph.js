// The SDE-Drag editor's walks through the graph: which node feeds an input (through Reroutes, bypassed nodes and
// subgraph boundaries), which nodes lie downstream of an output, which node an execution id names. Pure: it reads
// LiteGraph node and graph objects through their public fields and methods only (inputs, outputs, link ids,
// getNodeById, getLink / links, subgraph, rootGraph), so fake objects test it (web/tests/editor_graph.test.mjs).
//
// Subgraphs (frontend 1.24 on): a link from a subgraph's input slot starts at the node id SUBGRAPH_INPUT_ID; the
// walk goes on in the parent graph from the input of the node that holds the subgraph. A link into a subgraph's
// output slot ends at SUBGRAPH_OUTPUT_ID (numbers, or strings as
// frontend 1.4x keeps ids); the walk goes on from that node's output. A subgraph used by several
// nodes is read through the first of them.

export const SUBGRAPH_INPUT_ID = -10;
export const SUBGRAPH_OUTPUT_ID = -20;
export const BYPASS_MODE = 4;
const MAX_HOPS = 32; // links followed upstream at most (through reroutes, bypassed nodes and subgraph boundaries)

/** Core nodes whose `image` widget names a file that /view serves, and the folder type it defaults to. */
export const IMAGE_LOADERS = { LoadImage: "input", LoadImageMask: "input", LoadImageOutput: "output" };

/** Whether two node ids are the same id (frontend 1.4x keeps them as strings, older ones as numbers). */
function sameId(a, b) {
  return a != null && String(a) === String(b);
}

/** A node's class name as the frontend keeps it. */
export function nodeKind(node) {
  return node?.comfyClass ?? node?.type;
}

/** The link `id` of `graph` (Map-based graphs, and the older object-based `links`). */
export function linkById(graph, id) {
  if (id == null || !graph) return null;
  return graph.getLink?.(id) ?? graph.links?.get?.(id) ?? graph.links?.[id] ?? null;
}

/** Every graph of the workflow: the root and its subgraph definitions. */
function allGraphs(graph) {
  const root = graph?.rootGraph ?? graph;
  return [root, ...(root?.subgraphs?.values?.() ?? [])];
}

/** The node that holds `graph` as its subgraph (the first one, when several do), or null in the root graph. */
export function subgraphHolder(graph) {
  if (!graph || graph === (graph.rootGraph ?? graph)) return null;
  for (const parent of allGraphs(graph)) {
    const holder = (parent?.nodes ?? parent?._nodes ?? []).find((node) => node.subgraph === graph);
    if (holder) return holder;
  }
  return null;
}

/**
 * The node and output slot that feed input slot `slot` of `node`, looking through Reroute nodes, bypassed nodes (a
 * bypassed node passes on its first input of the same `type`) and subgraph boundaries: { node, kind, slot }, or null
 * when nothing is linked there.
 */
export function upstreamSource(node, slot, type, hops = MAX_HOPS) {
  if (!node || slot < 0 || hops <= 0) return null;
  const link = linkById(node.graph, node.inputs?.[slot]?.link);
  if (!link) return null;
  if (sameId(link.origin_id, SUBGRAPH_INPUT_ID)) return upstreamSource(subgraphHolder(node.graph), link.origin_slot, type, hops - 1);
  return outputSource(node.graph.getNodeById(link.origin_id), link.origin_slot, type, hops - 1);
}

/** What output `slot` of `node` passes on: the node itself, or what a Reroute, bypassed node or subgraph passes. */
function outputSource(node, slot, type, hops) {
  if (!node || hops <= 0) return null;
  const kind = nodeKind(node);
  if (kind === "Reroute") return upstreamSource(node, 0, type, hops);
  if (node.mode === BYPASS_MODE) return upstreamSource(node, node.inputs?.findIndex((input) => input.type === type) ?? -1, type, hops);
  const inner = node.subgraph;
  if (!inner) return { node, kind, slot };
  const link = linkById(inner, inner.outputs?.[slot]?.linkIds?.[0]);
  if (!link) return null;
  if (sameId(link.origin_id, SUBGRAPH_INPUT_ID)) return upstreamSource(node, link.origin_slot, type, hops - 1);
  return outputSource(inner.getNodeById(link.origin_id), link.origin_slot, type, hops - 1);
}

/** The source feeding the input named `name` of `node` (see upstreamSource). */
export function inputSource(node, name, type) {
  return upstreamSource(node, node.inputs?.findIndex((input) => input.name === name) ?? -1, type);
}

/** Whether input `name` of `node` has a link. */
export function inputIsLinked(node, name) {
  return !!node.inputs?.some((input) => input.name === name && input.link != null);
}

/** The nodes an output link reaches: into subgraphs (their inner targets) and out of them (the holder's targets). */
function linkTargets(graph, linkIds) {
  const targets = [];
  for (const id of linkIds ?? []) {
    const link = linkById(graph, id);
    if (!link) continue;
    if (sameId(link.target_id, SUBGRAPH_OUTPUT_ID)) {
      const holder = subgraphHolder(graph);
      if (holder) targets.push(...linkTargets(holder.graph, holder.outputs?.[link.target_slot]?.links));
      continue;
    }
    const target = graph.getNodeById(link.target_id);
    if (!target) continue;
    targets.push(target);
    if (target.subgraph) targets.push(...linkTargets(target.subgraph, target.subgraph.inputs?.[link.target_slot]?.linkIds));
  }
  return targets;
}

/** Every node reached from `node`'s outputs along links, up to `maxHops` links away (the node itself excluded). */
export function downstreamNodes(node, maxHops) {
  const reached = new Set();
  let frontier = [node];
  for (let hop = 0; hop < maxHops && frontier.length; hop++) {
    const next = [];
    for (const current of frontier) {
      for (const output of current.outputs ?? []) {
        for (const target of linkTargets(current.graph, output.links)) {
          if (target !== node && !reached.has(target)) {
            reached.add(target);
            next.push(target);
          }
        }
      }
    }
    frontier = next;
  }
  return reached;
}

/**
 * The node an execution id of a websocket message names: "12" in the root graph, "5:12" node 12 inside the
 * subgraph of node 5, and so on. Ids that are digits are looked up as numbers (newer frontends key their nodes
 * by number). Null when a step is missing.
 */
export function nodeByExecutionId(rootGraph, executionId) {
  const parts = String(executionId ?? "").split(":");
  let graph = rootGraph;
  let node = null;
  for (const [index, part] of parts.entries()) {
    node = graph?.getNodeById?.(/^\d+$/.test(part) ? Number(part) : part) ?? null;
    if (!node) return null;
    if (index < parts.length - 1) graph = node.subgraph;
  }
  return node;
}

/**
 * A key for what an editor learned from runs, stable while its node stays in the workflow (undo and redo rebuild
 * the node with the same ids): the ids of the graphs above it and its own.
 */
export function nodeKey(node) {
  const path = [node.id];
  for (let holder = subgraphHolder(node.graph); holder; holder = subgraphHolder(holder.graph)) path.unshift(holder.id);
  return path.join(":");
}
