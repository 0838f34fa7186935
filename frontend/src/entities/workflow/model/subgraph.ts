import type { Graph, GraphEdge, GraphNode, TemplateRef } from "./types";

/** The first free `${prefix}N`; claims it in `taken` so a batch never repeats an id. */
export function uniqueId(prefix: string, taken: Set<string>): string {
  let i = taken.size + 1;
  while (taken.has(`${prefix}${i}`)) i++;
  const id = `${prefix}${i}`;
  taken.add(id);
  return id;
}

/** A node id derived from the template name: `upper_1`, `upper_2`, … */
export function nodeIdFor(template: TemplateRef, taken: Set<string>): string {
  const base =
    template.name
      .split(".")
      .pop()!
      .replace(/[^a-zA-Z0-9_-]/g, "_")
      .slice(0, 40) || "node";
  let i = 1;
  while (taken.has(`${base}_${i}`)) i++;
  const id = `${base}_${i}`;
  taken.add(id);
  return id;
}

/** The given nodes and only the edges running between them. */
export function extractSubgraph(graph: Graph, nodeIds: ReadonlySet<string>): Graph {
  return {
    nodes: graph.nodes.filter((n) => nodeIds.has(n.id)),
    edges: graph.edges.filter((e) => nodeIds.has(e.source) && nodeIds.has(e.target)),
  };
}

/**
 * Copies a subgraph under fresh ids (paste, duplicate): positions shift by
 * `offset`, and edges to nodes outside the copy are dropped, because their
 * other end does not come along.
 */
export function cloneSubgraph(
  fragment: Graph,
  existingNodeIds: Iterable<string>,
  existingEdgeIds: Iterable<string>,
  offset: { x: number; y: number },
): Graph {
  const takenNodes = new Set(existingNodeIds);
  const takenEdges = new Set(existingEdgeIds);
  const map = new Map<string, string>();
  const nodes: GraphNode[] = fragment.nodes.map((n) => {
    const id = nodeIdFor(n.template, takenNodes);
    map.set(n.id, id);
    return {
      ...structuredClone(n),
      id,
      position: { x: n.position.x + offset.x, y: n.position.y + offset.y },
    };
  });
  const edges: GraphEdge[] = fragment.edges
    .filter((e) => map.has(e.source) && map.has(e.target))
    .map((e) => ({
      ...e,
      id: uniqueId("e", takenEdges),
      source: map.get(e.source)!,
      target: map.get(e.target)!,
    }));
  return { nodes, edges };
}
