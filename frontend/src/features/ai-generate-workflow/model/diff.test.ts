import { describe, expect, it } from "vitest";
import type { Graph, GraphNode } from "@/entities/workflow";
import { acceptedGraph, diffGraphs } from "./diff";

function node(id: string, params: Record<string, unknown> = {}, x = 0): GraphNode {
  return { id, template: { name: "t", version: 1 }, position: { x, y: 0 }, params };
}

const current: Graph = {
  nodes: [node("a", {}, 10), node("b", { mode: "x" }, 20), node("gone", {}, 30)],
  edges: [
    { id: "e1", source: "a", sourcePort: "o", target: "b", targetPort: "i" },
    { id: "e2", source: "b", sourcePort: "o", target: "gone", targetPort: "i" },
  ],
};

const proposed: Graph = {
  nodes: [node("a", {}, 500), node("b", { mode: "y" }), node("new")],
  edges: [
    // Same endpoints under another id: the same edge.
    { id: "x1", source: "a", sourcePort: "o", target: "b", targetPort: "i" },
    { id: "x2", source: "b", sourcePort: "o", target: "new", targetPort: "i" },
  ],
};

describe("diffGraphs", () => {
  it("marks nodes added, changed, kept and removed", () => {
    const d = diffGraphs(current, proposed);
    expect(d.nodes.map((n) => [n.node.id, n.state])).toEqual([
      ["a", "same"],
      ["b", "changed"],
      ["new", "added"],
      ["gone", "removed"],
    ]);
    expect(d.counts).toEqual({ added: 1, changed: 1, removed: 1, same: 1 });
  });

  it("compares edges by their ports, not their ids", () => {
    const d = diffGraphs(current, proposed);
    expect(d.edges.map((e) => [e.edge.id, e.state])).toEqual([
      ["x1", "same"],
      ["x2", "added"],
      ["removed:e2", "removed"],
    ]);
  });

  it("shows kept nodes where the user placed them", () => {
    const d = diffGraphs(current, proposed);
    expect(d.nodes[0]!.node.position.x).toBe(10);
  });
});

describe("acceptedGraph", () => {
  it("is the proposal with existing nodes left in place", () => {
    const g = acceptedGraph(current, proposed);
    expect(g.nodes.map((n) => [n.id, n.position.x])).toEqual([
      ["a", 10],
      ["b", 20],
      ["new", 0],
    ]);
    expect(g.nodes[1]!.params).toEqual({ mode: "y" });
    expect(g.edges).toBe(proposed.edges);
  });
});
