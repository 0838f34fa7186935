import { describe, expect, it } from "vitest";
import {
  checkConnection,
  findCycle,
  portCompatibility,
  validateGraph,
  wouldCreateCycle,
} from "./rules";
import { graphOf, testLookup } from "./fixtures";

describe("portCompatibility", () => {
  it("mirrors the server's table", () => {
    expect(portCompatibility("string", "string")).toBe("ok");
    expect(portCompatibility("integer", "number")).toBe("ok");
    expect(portCompatibility("number", "integer")).toBe("incompatible");
    expect(portCompatibility("file", "json")).toBe("ok");
    expect(portCompatibility("json", "string")).toBe("warn");
    expect(portCompatibility("string", "number")).toBe("incompatible");
  });
});

describe("checkConnection", () => {
  it("refuses incompatible types with a reason naming them", () => {
    const g = graphOf(["a", "text.upper"], ["b", "math.double"]);
    const v = checkConnection(g, testLookup, {
      source: "a",
      sourcePort: "text",
      target: "b",
      targetPort: "x",
    });
    expect(v).toEqual({
      ok: false,
      reason: expect.stringContaining("string output cannot feed number input"),
    });
  });

  it("refuses a second edge into the same input", () => {
    const g = graphOf(["a", "text.upper"], ["b", "text.upper"], ["c", "text.upper"]);
    g.edges.push({ id: "e1", source: "a", sourcePort: "text", target: "c", targetPort: "text" });
    const v = checkConnection(g, testLookup, {
      source: "b",
      sourcePort: "text",
      target: "c",
      targetPort: "text",
    });
    expect(v.ok).toBe(false);
    expect(!v.ok && v.reason).toMatch(/already has a connection/);
  });

  it("refuses cycles and self loops", () => {
    const g = graphOf(["a", "text.upper"], ["b", "text.upper"]);
    g.edges.push({ id: "e1", source: "a", sourcePort: "text", target: "b", targetPort: "text" });
    expect(
      checkConnection(g, testLookup, {
        source: "b",
        sourcePort: "text",
        target: "a",
        targetPort: "text",
      }),
    ).toEqual({
      ok: false,
      reason: "This connection would create a cycle.",
    });
    expect(
      checkConnection(g, testLookup, {
        source: "a",
        sourcePort: "text",
        target: "a",
        targetPort: "text",
      }).ok,
    ).toBe(false);
  });

  it("accepts integer into number and warns for json into a typed input", () => {
    const g = graphOf(
      ["a", "math.double"],
      ["b", "math.double"],
      ["j", "json.any"],
      ["t", "text.upper"],
    );
    expect(
      checkConnection(g, testLookup, {
        source: "a",
        sourcePort: "n",
        target: "b",
        targetPort: "x",
      }),
    ).toEqual({ ok: true });
    const w = checkConnection(g, testLookup, {
      source: "j",
      sourcePort: "value",
      target: "t",
      targetPort: "text",
    });
    expect(w.ok && w.warning).toMatch(/json into string/);
  });
});

describe("wouldCreateCycle / findCycle", () => {
  it("follows long paths", () => {
    const edges = Array.from({ length: 50 }, (_, i) => ({
      id: `e${i}`,
      source: `n${i}`,
      sourcePort: "o",
      target: `n${i + 1}`,
      targetPort: "i",
    }));
    expect(wouldCreateCycle(edges, "n50", "n0")).toBe(true);
    expect(wouldCreateCycle(edges, "n0", "n50")).toBe(false);
  });
  it("names the nodes of a cycle", () => {
    const g = graphOf(["a", "json.any"], ["b", "json.any"], ["c", "json.any"]);
    g.edges.push(
      { id: "1", source: "a", sourcePort: "value", target: "b", targetPort: "value" },
      { id: "2", source: "b", sourcePort: "value", target: "a", targetPort: "value" },
    );
    expect(findCycle(g)?.sort()).toEqual(["a", "b"]);
  });
});

describe("validateGraph", () => {
  it("reports a required input that is neither connected nor given", () => {
    const g = graphOf(["a", "text.upper"]);
    const problems = validateGraph(g, testLookup);
    expect(problems).toEqual([
      expect.objectContaining({ code: "missing_input", nodeId: "a", port: "text" }),
    ]);
    g.nodes[0]!.inputs = { text: "hello" };
    expect(validateGraph(g, testLookup)).toEqual([]);
  });

  it("reports missing and out-of-range parameters and unknown templates", () => {
    const g = graphOf(["d", "math.double"], ["x", "nope.nope"]);
    g.nodes[0]!.inputs = { x: 1 };
    const codes = validateGraph(g, testLookup)
      .map((p) => p.code)
      .sort();
    expect(codes).toEqual(["missing_parameter", "unknown_template"]);
    g.nodes[0]!.params = { factor: 99 };
    expect(validateGraph(g, testLookup).map((p) => p.code)).toContain("parameter_out_of_range");
  });
});
