import { describe, expect, it } from "vitest";
import { cloneSubgraph, extractSubgraph, nodeIdFor, uniqueId } from "./subgraph";
import { graphOf } from "./fixtures";

describe("cloneSubgraph", () => {
  it("remaps ids, offsets positions and keeps only inner edges", () => {
    const clip = {
      nodes: graphOf(["upper_1", "text.upper"], ["upper_2", "text.upper"]).nodes,
      edges: [
        { id: "e1", source: "upper_1", sourcePort: "text", target: "upper_2", targetPort: "text" },
        { id: "e2", source: "outside", sourcePort: "text", target: "upper_1", targetPort: "text" },
      ],
    };
    const out = cloneSubgraph(clip, ["upper_1", "upper_2"], ["e1"], { x: 10, y: 20 });
    expect(out.nodes.map((n) => n.id)).toEqual(["upper_3", "upper_4"]);
    expect(out.nodes[0]!.position).toEqual({ x: 10, y: 20 });
    expect(out.edges).toEqual([
      { id: "e2", source: "upper_3", sourcePort: "text", target: "upper_4", targetPort: "text" },
    ]);
  });

  it("leaves the copied nodes untouched", () => {
    const source = graphOf(["a", "text.upper"]);
    source.nodes[0]!.params = { p: { deep: 1 } };
    const out = cloneSubgraph(source, [], [], { x: 0, y: 0 });
    (out.nodes[0]!.params.p as { deep: number }).deep = 2;
    expect(source.nodes[0]!.params).toEqual({ p: { deep: 1 } });
    expect(source.nodes[0]!.id).toBe("a");
  });
});

describe("ids", () => {
  it("derives node ids from the template's last name segment", () => {
    const taken = new Set(["upper_1"]);
    expect(nodeIdFor({ name: "text.upper", version: 1 }, taken)).toBe("upper_2");
    expect(nodeIdFor({ name: "x.a b", version: 1 }, taken)).toBe("a_b_1");
    expect(taken.has("upper_2")).toBe(true);
  });

  it("never hands out the same edge id twice in a batch", () => {
    const taken = new Set(["e2"]);
    expect([uniqueId("e", taken), uniqueId("e", taken)]).toEqual(["e3", "e4"]);
  });
});

describe("extractSubgraph", () => {
  it("keeps the chosen nodes and the edges between them", () => {
    const g = graphOf(["a", "text.upper"], ["b", "text.upper"], ["c", "text.upper"]);
    g.edges = [
      { id: "e1", source: "a", sourcePort: "text", target: "b", targetPort: "text" },
      { id: "e2", source: "b", sourcePort: "text", target: "c", targetPort: "text" },
    ];
    const sub = extractSubgraph(g, new Set(["a", "b"]));
    expect(sub.nodes.map((n) => n.id)).toEqual(["a", "b"]);
    expect(sub.edges.map((e) => e.id)).toEqual(["e1"]);
  });
});
