import { describe, expect, it } from "vitest";
import { compareGraphs, formatFieldValue, nodeFieldChanges } from "./graph-diff";
import type { Graph, GraphEdge, GraphNode } from "./types";

function node(id: string, patch: Partial<GraphNode> = {}): GraphNode {
  return {
    id,
    template: { name: "math.double", version: 1 },
    position: { x: 0, y: 0 },
    params: {},
    ...patch,
  };
}

function edge(id: string, source: string, target: string, targetPort = "x"): GraphEdge {
  return { id, source, sourcePort: "y", target, targetPort };
}

const base: Graph = {
  nodes: [node("a", { params: { factor: 2 } }), node("b"), node("c")],
  edges: [edge("e1", "a", "b"), edge("e2", "b", "c")],
};

describe("compareGraphs", () => {
  it("finds nothing between a graph and itself", () => {
    const d = compareGraphs(base, structuredClone(base));
    expect(d.counts).toEqual({ added: 0, removed: 0, changed: 0, same: 3 });
    expect(d.edges.every((e) => e.state === "same")).toBe(true);
  });

  it("marks added, removed and changed nodes, B's first then A's leftovers", () => {
    const b: Graph = {
      nodes: [node("a", { params: { factor: 3 } }), node("b"), node("d")],
      edges: [edge("e1", "a", "b")],
    };
    const d = compareGraphs(base, b);
    expect(d.nodes.map((n) => [n.id, n.state])).toEqual([
      ["a", "changed"],
      ["b", "same"],
      ["d", "added"],
      ["c", "removed"],
    ]);
    expect(d.nodes[0]!.fields).toEqual([{ field: "params.factor", before: 2, after: 3 }]);
    expect(d.counts).toEqual({ added: 1, removed: 1, changed: 1, same: 1 });
    expect(d.edges.map((e) => [e.edge.id, e.state])).toEqual([
      ["e1", "same"],
      ["e2", "removed"],
    ]);
  });

  it("does not count a moved node as changed", () => {
    const b: Graph = {
      ...base,
      nodes: base.nodes.map((n) => (n.id === "b" ? { ...n, position: { x: 50, y: 9 } } : n)),
    };
    const moved = compareGraphs(base, b).nodes.find((n) => n.id === "b")!;
    expect(moved.state).toBe("same");
    expect(moved.moved).toBe(true);
  });

  it("matches edges by the ports they join, whatever their ids", () => {
    const b: Graph = { ...base, edges: [edge("x1", "a", "b"), edge("x2", "b", "c")] };
    expect(compareGraphs(base, b).edges.every((e) => e.state === "same")).toBe(true);
  });

  it("calls an edge whose id survives with new endpoints changed", () => {
    const b: Graph = { ...base, edges: [edge("e1", "a", "c"), edge("e2", "b", "c")] };
    const d = compareGraphs(base, b);
    expect(d.edges).toHaveLength(2);
    expect(d.edges[0]).toMatchObject({
      state: "changed",
      edge: { target: "c" },
      before: { target: "b" },
    });
  });

  it("keeps edge ids unique when a removed edge's id is reused by an added one", () => {
    const b: Graph = { ...base, edges: [edge("e1", "a", "b"), edge("e2", "a", "c")] };
    const d = compareGraphs(base, b);
    const ids = d.edges.map((e) => e.edge.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("nodeFieldChanges", () => {
  it("lists template, label, input, limit and parameter changes in a fixed order", () => {
    const a = node("n", {
      label: "Old",
      params: { factor: 2, keep: "x" },
      inputs: { x: 1 },
      limits: { timeoutSeconds: 60 },
    });
    const b = node("n", {
      template: { name: "math.double", version: 2 },
      label: "New",
      params: { keep: "x", mode: "fast" },
      inputs: { x: 2 },
      limits: { timeoutSeconds: 60, memoryMib: 256 },
    });
    expect(nodeFieldChanges(a, b)).toEqual([
      { field: "template", before: "math.double@1", after: "math.double@2" },
      { field: "label", before: "Old", after: "New" },
      { field: "params.factor", before: 2, after: undefined },
      { field: "params.mode", before: undefined, after: "fast" },
      { field: "inputs.x", before: 1, after: 2 },
      { field: "limits.memoryMib", before: undefined, after: 256 },
    ]);
  });

  it("compares fields this client does not model, such as retry policies", () => {
    const a = node("n");
    const b = { ...node("n"), retry: { attempts: 3 } } as GraphNode;
    expect(nodeFieldChanges(a, b)).toEqual([
      { field: "retry", before: undefined, after: { attempts: 3 } },
    ]);
    expect(nodeFieldChanges(node("n", { trigger: "all_succeeded" }), node("n"))).toEqual([]);
  });

  it("treats an empty label like a missing one and ignores key order in values", () => {
    const a = node("n", { label: "", params: { cfg: { a: 1, b: 2 } } });
    const b = node("n", { label: null, params: { cfg: { b: 2, a: 1 } } });
    expect(nodeFieldChanges(a, b)).toEqual([]);
  });
});

describe("formatFieldValue", () => {
  it("quotes strings and marks missing values", () => {
    expect(formatFieldValue("a")).toBe('"a"');
    expect(formatFieldValue(undefined)).toBe("(not set)");
    expect(formatFieldValue({ b: 1, a: [2] })).toBe('{"a":[2],"b":1}');
  });
});
