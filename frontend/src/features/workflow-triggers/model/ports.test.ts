import { describe, expect, it } from "vitest";
import { graphOf, testLookup } from "@/entities/workflow/testing";
import { inputPortChoices, withCurrent } from "./ports";

describe("inputPortChoices", () => {
  it("offers the inputs no connection feeds, named by node label or template title", () => {
    const g = graphOf(["up", "text.upper"], ["dbl", "math.double"], ["any", "json.any"]);
    g.nodes[2]!.label = "Sink";
    g.edges.push({ id: "e", source: "up", sourcePort: "text", target: "any", targetPort: "value" });
    expect(inputPortChoices(g.nodes, g.edges, testLookup)).toEqual([
      { value: "up.text", label: "Uppercase › text", type: "string" },
      { value: "dbl.x", label: "Double › x", type: "number" },
    ]);
  });

  it("skips nodes whose template is unknown", () => {
    const g = graphOf(["gone", "no.such"]);
    expect(inputPortChoices(g.nodes, g.edges, testLookup)).toEqual([]);
  });
});

describe("withCurrent", () => {
  const choices = [{ value: "a.x", label: "A › x", type: "string" }];
  it("keeps a value set earlier that the graph no longer has", () => {
    expect(withCurrent(choices, "a.x")).toBe(choices);
    expect(withCurrent(choices, "")).toBe(choices);
    expect(withCurrent(choices, "b.y").map((c) => c.value)).toEqual(["a.x", "b.y"]);
  });
});
