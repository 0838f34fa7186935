import { skipReasonLabel, type Run } from "@/entities/run";
import type { GraphEdge } from "@/entities/workflow";

/** Bounds on what a completion list takes from a run's data, so a large output stays cheap. */
export const PATH_LIMITS = { depth: 4, paths: 200 } as const;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The field paths of a JSON value under `root` (`value.amount`,
 * `value.customer.name`), breadth first, so the shallow ones survive the
 * size limit. Keys that are not identifiers use CEL's index form
 * (`value["due date"]`); arrays are not entered, their items differ.
 */
export function collectPaths(
  root: string,
  data: unknown,
  limits: { depth: number; paths: number } = PATH_LIMITS,
): string[] {
  const out: string[] = [];
  let level: [string, unknown][] = [[root, data]];
  for (let depth = 0; depth < limits.depth && level.length > 0; depth++) {
    const next: [string, unknown][] = [];
    for (const [path, v] of level) {
      if (typeof v !== "object" || v === null || Array.isArray(v)) continue;
      for (const [k, child] of Object.entries(v)) {
        if (out.length >= limits.paths) return out;
        const p = IDENT.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
        out.push(p);
        next.push([p, child]);
      }
    }
    level = next;
  }
  return out;
}

/** The candidates that extend what was typed, without the exact match itself. */
export function matchPrefix(candidates: string[], typed: string): string[] {
  return candidates.filter((c) => c.startsWith(typed) && c !== typed);
}

/**
 * What each connected input of `nodeId` received in `run`: the upstream
 * node's latest output on the connected port. Inputs without data are absent.
 */
export function inputDataFromRun(
  run: Pick<Run, "nodes">,
  edges: Pick<GraphEdge, "source" | "sourcePort" | "target" | "targetPort">[],
  nodeId: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of edges) {
    if (e.target !== nodeId) continue;
    const upstream = run.nodes.find((n) => n.id === e.source);
    const last = upstream?.executions.at(-1);
    const outputs = last?.outputs as Record<string, unknown> | undefined;
    if (outputs && e.sourcePort in outputs) out[e.targetPort] = outputs[e.sourcePort];
  }
  return out;
}

/** Input names followed by the field paths the last run saw under them. */
export function completionCandidates(
  inputNames: string[],
  data: Record<string, unknown>,
): string[] {
  return inputNames.flatMap((name) => [name, ...collectPaths(name, data[name])]);
}

/** How a Condition or Switch node fared in a run, for the line under its expression. */
export type ExpressionOutcome =
  | { kind: "returned"; result: string; branch: string }
  | { kind: "failed"; message: string }
  | { kind: "not-run"; status: string; reason?: string | null }
  | { kind: "absent" };

const RETURNED = /^the expression returned ([\s\S]*): branch `([^`]*)`$/;

/** Reads the node's outcome from the run: its status, its `branch` and its execution's message. */
export function expressionOutcome(run: Pick<Run, "nodes">, nodeId: string): ExpressionOutcome {
  const node = run.nodes.find((n) => n.id === nodeId);
  if (!node) return { kind: "absent" };
  const message = node.executions.at(-1)?.message ?? node.message ?? "";
  if (node.status === "succeeded") {
    const m = RETURNED.exec(message);
    if (m) return { kind: "returned", result: m[1] ?? "", branch: node.branch ?? m[2] ?? "" };
    if (node.branch) return { kind: "returned", result: "?", branch: node.branch };
  }
  if (node.status === "failed") return { kind: "failed", message: message || "failed" };
  return { kind: "not-run", status: node.status, reason: node.reason };
}

/** The status line under the expression; plain text, shown as text. */
export function outcomeSentence(o: ExpressionOutcome): string {
  switch (o.kind) {
    case "returned":
      return `Last run: returned ${o.result} → branch ${o.branch}`;
    case "failed":
      return `Last run: failed: ${o.message}`;
    case "not-run": {
      const why = o.status === "skipped" ? skipReasonLabel(o.reason) : null;
      return `Not run in the last run (${o.status}${why ? `: ${why}` : ""})`;
    }
    case "absent":
      return "Not part of the last run.";
  }
}
