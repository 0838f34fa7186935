import { describe, expect, it } from "vitest";
import type { ParseResult } from "@/entities/workflow";
import { describeMistake, yamlOutcome } from "./yaml-outcome";

const parsed = (clientId: number): ParseResult => ({
  valid: false,
  error: null,
  problems: [{ severity: "error", code: "missing_input", message: "x" }],
  workflow: {
    resourceName: "intake",
    clientId,
    name: "Intake",
    description: "",
    graph: { nodes: [], edges: [] },
  },
});

describe("yamlOutcome", () => {
  it("applies a manifest that parses, graph problems and all", () => {
    expect(yamlOutcome(parsed(7), 7)).toMatchObject({
      kind: "apply",
      workflow: { name: "Intake" },
    });
  });

  it("reports the text's mistake with its place", () => {
    const r: ParseResult = {
      valid: false,
      error: { message: "bad indent", line: 3, column: 2 },
      workflow: null,
      problems: [],
    };
    expect(yamlOutcome(r, 7)).toEqual({ kind: "mistake", mistake: r.error });
  });

  it("refuses a manifest of another client", () => {
    const o = yamlOutcome(parsed(8), 7, "Acme");
    expect(o.kind).toBe("mistake");
    expect(o.kind === "mistake" && o.mistake.message).toMatch(/belongs to Acme/);
  });
});

describe("describeMistake", () => {
  it("names the place when known", () => {
    expect(describeMistake({ message: "m", line: 2, column: 4 })).toBe("Line 2, column 4: m");
    expect(describeMistake({ message: "m", line: 2 })).toBe("Line 2: m");
    expect(describeMistake({ message: "m" })).toBe("m");
  });
});
