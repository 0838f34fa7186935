import type { GraphEdge, GraphNode, TemplateLookup } from "@/entities/workflow";

export interface PortChoice {
  /** `node.port`, as trigger configs name an input. */
  value: string;
  label: string;
  type: string;
}

/**
 * The inputs a trigger can fill: every input port no connection feeds, in
 * the graph's node order. Connected ports get their value from upstream.
 */
export function inputPortChoices(
  nodes: GraphNode[],
  edges: GraphEdge[],
  lookup: TemplateLookup,
): PortChoice[] {
  const fed = new Set(edges.map((e) => `${e.target}.${e.targetPort}`));
  const out: PortChoice[] = [];
  for (const n of nodes) {
    const t = lookup(n.template);
    for (const p of t?.inputs ?? []) {
      const value = `${n.id}.${p.name}`;
      if (fed.has(value)) continue;
      out.push({ value, label: `${n.label || t?.title || n.id} › ${p.name}`, type: p.type });
    }
  }
  return out;
}

/** The choices, plus a value set earlier that is no longer among them (so editing keeps it). */
export function withCurrent(choices: PortChoice[], current: string): PortChoice[] {
  if (!current || choices.some((c) => c.value === current)) return choices;
  return [...choices, { value: current, label: `${current} (not in the graph)`, type: "" }];
}
