import { describe, expect, it } from "vitest";
import type { Run } from "@/entities/run";
import {
  collectPaths,
  completionCandidates,
  expressionOutcome,
  inputDataFromRun,
  matchPrefix,
  outcomeSentence,
} from "./expression-hints";

type RunNodes = Pick<Run, "nodes">;

const node = (id: string, extra: Partial<Run["nodes"][number]> = {}): Run["nodes"][number] => ({
  id,
  attempt: 1,
  status: "succeeded",
  template: { name: "t", version: 1 },
  executions: [],
  ...extra,
});

const exec = (outputs: Record<string, unknown>, message?: string) => ({
  attempt: 1,
  startedAt: "2026-01-01T00:00:00Z",
  status: "succeeded",
  outputs: outputs as Record<string, never>,
  message,
});

describe("collectPaths", () => {
  it("lists nested fields breadth first, quoting keys that are not identifiers", () => {
    const paths = collectPaths("value", {
      amount: 1500,
      customer: { name: "Ada", "due date": "x" },
      items: [{ sku: 1 }],
    });
    expect(paths).toEqual([
      "value.amount",
      "value.customer",
      "value.items",
      "value.customer.name",
      'value.customer["due date"]',
    ]);
  });

  it("stops at the depth and size limits", () => {
    const deep = { a: { b: { c: { d: 1 } } } };
    expect(collectPaths("v", deep, { depth: 2, paths: 100 })).toEqual(["v.a", "v.a.b"]);
    const wide = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    expect(collectPaths("v", wide, { depth: 4, paths: 10 })).toHaveLength(10);
  });

  it("has nothing to offer for scalars, arrays and null", () => {
    expect(collectPaths("value", 3)).toEqual([]);
    expect(collectPaths("value", [1, 2])).toEqual([]);
    expect(collectPaths("value", null)).toEqual([]);
  });
});

describe("matchPrefix", () => {
  it("keeps candidates that extend the typed text", () => {
    const c = ["value", "value.amount", "value.currency", "other"];
    expect(matchPrefix(c, "value.")).toEqual(["value.amount", "value.currency"]);
    expect(matchPrefix(c, "value.c")).toEqual(["value.currency"]);
    expect(matchPrefix(c, "value")).toEqual(["value.amount", "value.currency"]);
  });
});

describe("inputDataFromRun", () => {
  it("takes the upstream node's last output on the connected port", () => {
    const run: RunNodes = {
      nodes: [
        node("src", {
          executions: [exec({ value: { amount: 1 } }), exec({ value: { amount: 2 } })],
        }),
        node("cond"),
      ],
    };
    const edges = [
      { source: "src", sourcePort: "value", target: "cond", targetPort: "value" },
      { source: "src", sourcePort: "missing", target: "cond", targetPort: "other" },
    ];
    expect(inputDataFromRun(run, edges, "cond")).toEqual({ value: { amount: 2 } });
    expect(completionCandidates(["value"], inputDataFromRun(run, edges, "cond"))).toEqual([
      "value",
      "value.amount",
    ]);
  });
});

describe("expressionOutcome", () => {
  it("reads the result and branch of a node that ran", () => {
    const run: RunNodes = {
      nodes: [
        node("cond", {
          branch: "true",
          executions: [exec({}, "the expression returned true: branch `true`")],
        }),
      ],
    };
    const o = expressionOutcome(run, "cond");
    expect(o).toEqual({ kind: "returned", result: "true", branch: "true" });
    expect(outcomeSentence(o)).toBe("Last run: returned true → branch true");
  });

  it("says why a node did not run, and when it is not in the run at all", () => {
    const run: RunNodes = { nodes: [node("cond", { status: "skipped", reason: "branch" })] };
    expect(outcomeSentence(expressionOutcome(run, "cond"))).toBe(
      "Not run in the last run (skipped: branch not taken)",
    );
    expect(expressionOutcome(run, "new")).toEqual({ kind: "absent" });
  });

  it("passes a failure's message on as text", () => {
    const run: RunNodes = {
      nodes: [node("cond", { status: "failed", message: "<b>no such field</b>" })],
    };
    expect(outcomeSentence(expressionOutcome(run, "cond"))).toBe(
      "Last run: failed: <b>no such field</b>",
    );
  });
});
