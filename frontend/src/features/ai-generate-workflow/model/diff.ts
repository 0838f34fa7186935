import type { Graph, GraphEdge, GraphNode } from "@/entities/workflow";

export type DiffState = "added" | "changed" | "removed" | "same";

export interface DiffNode {
  node: GraphNode;
  state: DiffState;
}

export interface DiffEdge {
  edge: GraphEdge;
  state: Exclude<DiffState, "changed">;
}

export interface GraphDiff {
  nodes: DiffNode[];
  edges: DiffEdge[];
  counts: Record<DiffState, number>;
}

/** What a node does, without where it sits on the canvas. */
function essence(n: GraphNode): string {
  return JSON.stringify([n.template, n.label ?? null, n.params ?? {}, n.inputs ?? {}]);
}

/** An edge is the same edge when it connects the same ports, whatever its id. */
function edgeKey(e: GraphEdge): string {
  return `${e.source}\u0000${e.sourcePort}\u0000${e.target}\u0000${e.targetPort}`;
}

/**
 * The proposal compared with the current draft, by node id and by edge
 * endpoints: proposed nodes and edges (new ones "added", edited ones
 * "changed"), then the current ones the proposal drops ("removed", shown as
 * ghosts at their old place).
 */
export function diffGraphs(current: Graph, proposed: Graph): GraphDiff {
  const before = new Map(current.nodes.map((n) => [n.id, n]));
  const after = new Set(proposed.nodes.map((n) => n.id));
  const nodes: DiffNode[] = proposed.nodes.map((n) => {
    const old = before.get(n.id);
    const state: DiffState = !old ? "added" : essence(old) === essence(n) ? "same" : "changed";
    return { node: state === "added" ? n : { ...n, position: old!.position }, state };
  });
  for (const n of current.nodes) if (!after.has(n.id)) nodes.push({ node: n, state: "removed" });

  const beforeEdges = new Set(current.edges.map(edgeKey));
  const afterEdges = new Set(proposed.edges.map(edgeKey));
  const edges: DiffEdge[] = proposed.edges.map((e) => ({
    edge: e,
    state: beforeEdges.has(edgeKey(e)) ? "same" : "added",
  }));
  for (const e of current.edges)
    if (!afterEdges.has(edgeKey(e)))
      edges.push({ edge: { ...e, id: `removed:${e.id}` }, state: "removed" });

  const counts: Record<DiffState, number> = { added: 0, changed: 0, removed: 0, same: 0 };
  for (const n of nodes) counts[n.state] += 1;
  return { nodes, edges, counts };
}

/**
 * The graph that accepting puts into the draft: the proposal, with nodes
 * the draft already had kept where the user placed them.
 */
export function acceptedGraph(current: Graph, proposed: Graph): Graph {
  const before = new Map(current.nodes.map((n) => [n.id, n]));
  return {
    nodes: proposed.nodes.map((n) => {
      const old = before.get(n.id);
      return old ? { ...n, position: old.position } : n;
    }),
    edges: proposed.edges,
  };
}
