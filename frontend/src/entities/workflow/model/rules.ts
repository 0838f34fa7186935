import type { PortType } from "@/entities/template";
import type { Graph, GraphEdge, Problem, TemplateLookup } from "./types";

export type Compatibility = "ok" | "warn" | "incompatible";

/** Whether an output of type `from` may feed an input of type `to` (mirrors crds::PortType::compatibility). */
export function portCompatibility(from: PortType, to: PortType): Compatibility {
  if (from === to) return "ok";
  if (from === "integer" && to === "number") return "ok";
  if (to === "json") return "ok";
  if (from === "json") return "warn";
  return "incompatible";
}

/** Whether adding source→target would close a cycle (target already reaches source). */
export function wouldCreateCycle(
  edges: readonly GraphEdge[],
  source: string,
  target: string,
): boolean {
  if (source === target) return true;
  const out = new Map<string, string[]>();
  for (const e of edges) {
    const list = out.get(e.source);
    if (list) list.push(e.target);
    else out.set(e.source, [e.target]);
  }
  const seen = new Set<string>();
  const stack = [target];
  while (stack.length) {
    const n = stack.pop()!;
    if (n === source) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const m of out.get(n) ?? []) stack.push(m);
  }
  return false;
}

export interface ConnectionAttempt {
  source: string;
  sourcePort: string;
  target: string;
  targetPort: string;
}

export type ConnectionVerdict = { ok: true; warning?: string } | { ok: false; reason: string };

/**
 * Decides whether a new edge may be drawn; the reason is shown to the user.
 * The server checks the same rules again on validate and save.
 */
export function checkConnection(
  graph: Graph,
  lookup: TemplateLookup,
  c: ConnectionAttempt,
): ConnectionVerdict {
  if (c.source === c.target) return { ok: false, reason: "A node cannot feed itself." };
  const from = graph.nodes.find((n) => n.id === c.source);
  const to = graph.nodes.find((n) => n.id === c.target);
  if (!from || !to) return { ok: false, reason: "Unknown node." };
  const out = lookup(from.template)?.outputs.find((p) => p.name === c.sourcePort);
  const inp = lookup(to.template)?.inputs.find((p) => p.name === c.targetPort);
  if (!out) return { ok: false, reason: `Output '${c.sourcePort}' does not exist.` };
  if (!inp) return { ok: false, reason: `Input '${c.targetPort}' does not exist.` };
  if (graph.edges.some((e) => e.target === c.target && e.targetPort === c.targetPort)) {
    return {
      ok: false,
      reason: `Input '${c.targetPort}' already has a connection (one edge per input).`,
    };
  }
  const compat = portCompatibility(out.type, inp.type);
  if (compat === "incompatible") {
    return {
      ok: false,
      reason: `Incompatible types: ${out.type} output cannot feed ${inp.type} input '${inp.name}'.`,
    };
  }
  if (wouldCreateCycle(graph.edges, c.source, c.target)) {
    return { ok: false, reason: "This connection would create a cycle." };
  }
  return compat === "warn"
    ? { ok: true, warning: `json into ${inp.type}: the value is checked when the node runs.` }
    : { ok: true };
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
}

/** Client-side validation for instant feedback; the server's answer is authoritative. */
export function validateGraph(graph: Graph, lookup: TemplateLookup): Problem[] {
  const problems: Problem[] = [];
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const incoming = new Map<string, GraphEdge[]>();
  for (const e of graph.edges) {
    const from = byId.get(e.source);
    const to = byId.get(e.target);
    if (!from || !to) {
      problems.push({
        severity: "error",
        code: "unknown_node",
        message: "Edge to an unknown node",
        edgeId: e.id,
      });
      continue;
    }
    const key = `${e.target}\u0000${e.targetPort}`;
    const list = incoming.get(key) ?? [];
    list.push(e);
    incoming.set(key, list);
    const out = lookup(from.template)?.outputs.find((p) => p.name === e.sourcePort);
    const inp = lookup(to.template)?.inputs.find((p) => p.name === e.targetPort);
    if (!out || !inp) continue;
    const compat = portCompatibility(out.type, inp.type);
    if (compat === "incompatible") {
      problems.push({
        severity: "error",
        code: "incompatible_types",
        message: `${out.type} output '${out.name}' cannot feed ${inp.type} input '${inp.name}'`,
        edgeId: e.id,
        nodeId: e.target,
        port: e.targetPort,
      });
    }
  }
  for (const [key, list] of incoming) {
    if (list.length > 1) {
      const [nodeId, port] = key.split("\u0000");
      problems.push({
        severity: "error",
        code: "duplicate_input",
        message: `Input '${port}' has ${list.length} incoming edges`,
        nodeId,
        port,
        edgeId: list[1]!.id,
      });
    }
  }
  const cycle = findCycle(graph);
  if (cycle) {
    problems.push({
      severity: "error",
      code: "cycle",
      message: `Cycle: ${cycle.join(" → ")}`,
      nodes: cycle,
      nodeId: cycle[0],
    });
  }
  for (const n of graph.nodes) {
    const t = lookup(n.template);
    if (!t) {
      problems.push({
        severity: "error",
        code: "unknown_template",
        message: `Template ${n.template.name} v${n.template.version} does not exist`,
        nodeId: n.id,
      });
      continue;
    }
    for (const p of t.inputs) {
      if (!p.required) continue;
      const connected = incoming.has(`${n.id}\u0000${p.name}`);
      if (!connected && isBlank(n.inputs?.[p.name]) && isBlank(p.default)) {
        problems.push({
          severity: "error",
          code: "missing_input",
          message: `Required input '${p.name}' is not connected and has no value`,
          nodeId: n.id,
          port: p.name,
        });
      }
    }
    for (const p of t.parameters) {
      if (p.required && isBlank(n.params[p.name]) && isBlank(p.default)) {
        problems.push({
          severity: "error",
          code: "missing_parameter",
          message: `Parameter '${p.label || p.name}' is required`,
          nodeId: n.id,
          port: p.name,
        });
      }
      const v = n.params[p.name];
      if (p.kind === "number" && typeof v === "number") {
        if ((p.min != null && v < p.min) || (p.max != null && v > p.max)) {
          problems.push({
            severity: "error",
            code: "parameter_out_of_range",
            message: `Parameter '${p.label || p.name}' must be between ${p.min ?? "−∞"} and ${p.max ?? "∞"}`,
            nodeId: n.id,
            port: p.name,
          });
        }
      }
    }
  }
  return problems;
}

/** One cycle's nodes, if the graph has any. */
export function findCycle(graph: Graph): string[] | null {
  const out = new Map<string, string[]>();
  for (const e of graph.edges) out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, 1);
    path.push(n);
    for (const m of out.get(n) ?? []) {
      const s = state.get(m);
      if (s === 1) return path.slice(path.indexOf(m));
      if (s === undefined) {
        const c = visit(m);
        if (c) return c;
      }
    }
    path.pop();
    state.set(n, 2);
    return null;
  };
  for (const n of graph.nodes) {
    if (!state.has(n.id)) {
      const c = visit(n.id);
      if (c) return c;
    }
  }
  return null;
}
