import type { Graph, GraphEdge, GraphNode } from "./types";

/** How an element of graph B relates to graph A. */
export type ChangeState = "added" | "removed" | "changed" | "same";

/** One field of a node that differs, named by its path (`params.url`, `limits.memoryMib`). */
export interface FieldChange {
  field: string;
  /** Undefined when the field is new in B. */
  before: unknown;
  /** Undefined when B drops the field. */
  after: unknown;
}

export interface NodeDiff {
  id: string;
  state: ChangeState;
  /** B's node, or A's for a removed one (shown where it stood). */
  node: GraphNode;
  /** Empty unless `state` is "changed". */
  fields: FieldChange[];
  /** Dragged elsewhere; not a change to what the node does. */
  moved: boolean;
}

export interface EdgeDiff {
  state: ChangeState;
  /** B's edge, or A's for a removed one; ids stay unique across the list. */
  edge: GraphEdge;
  /** For a changed edge: its endpoints in A. */
  before?: GraphEdge;
}

export interface GraphComparison {
  nodes: NodeDiff[];
  edges: EdgeDiff[];
  counts: Record<ChangeState, number>;
}

/** JSON with sorted keys, so equal values compare equal whatever their key order. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

function same(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}

/** Maps of per-key values compared key by key, each difference named `prefix.key`. */
function mapChanges(
  prefix: string,
  a: Record<string, unknown> | undefined,
  b: Record<string, unknown> | undefined,
): FieldChange[] {
  const before = a ?? {};
  const after = b ?? {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys
    .filter((k) => !same(before[k], after[k]))
    .map((k) => ({ field: `${prefix}.${k}`, before: before[k], after: after[k] }));
}

const KNOWN_FIELDS = new Set([
  "id",
  "template",
  "position",
  "label",
  "trigger",
  "notes",
  "params",
  "inputs",
  "limits",
]);

/** Defaults the manifest leaves out: empty strings, nulls, the default trigger rule. */
function present<T>(v: T | null | undefined): T | undefined {
  return v === null || v === "" || v === "all_succeeded" ? undefined : (v ?? undefined);
}

/** What differs in what a node does, in a fixed order; position is not part of it. */
export function nodeFieldChanges(a: GraphNode, b: GraphNode): FieldChange[] {
  const out: FieldChange[] = [];
  const ta = `${a.template.name}@${a.template.version}`;
  const tb = `${b.template.name}@${b.template.version}`;
  if (ta !== tb) out.push({ field: "template", before: ta, after: tb });
  for (const field of ["label", "trigger", "notes"] as const) {
    const before = present(a[field]);
    const after = present(b[field]);
    if (!same(before, after)) out.push({ field, before, after });
  }
  out.push(...mapChanges("params", a.params, b.params));
  out.push(...mapChanges("inputs", a.inputs, b.inputs));
  out.push(
    ...mapChanges(
      "limits",
      a.limits as Record<string, unknown> | undefined,
      b.limits as Record<string, unknown> | undefined,
    ),
  );
  // Fields this client does not model (retry policies, newer ones) still count.
  const rest = (n: GraphNode) => n as unknown as Record<string, unknown>;
  const others = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => !KNOWN_FIELDS.has(k))
    .sort();
  for (const field of others) {
    const before = present(rest(a)[field]);
    const after = present(rest(b)[field]);
    if (!same(before, after)) out.push({ field, before, after });
  }
  return out;
}

function endpoints(e: GraphEdge): string {
  return `${e.source}\u0000${e.sourcePort}\u0000${e.target}\u0000${e.targetPort}`;
}

/**
 * Graph B (the newer revision) compared with graph A: nodes by id, edges by
 * the ports they join. An edge whose id survives with other endpoints is
 * "changed"; other edges are added or removed. B's elements come first in
 * B's order, then what A had and B dropped.
 */
export function compareGraphs(a: Graph, b: Graph): GraphComparison {
  const nodesA = new Map(a.nodes.map((n) => [n.id, n]));
  const idsB = new Set(b.nodes.map((n) => n.id));
  const nodes: NodeDiff[] = b.nodes.map((n) => {
    const old = nodesA.get(n.id);
    if (!old) return { id: n.id, state: "added", node: n, fields: [], moved: false };
    const fields = nodeFieldChanges(old, n);
    return {
      id: n.id,
      state: fields.length ? "changed" : "same",
      node: n,
      fields,
      moved: old.position.x !== n.position.x || old.position.y !== n.position.y,
    };
  });
  for (const n of a.nodes)
    if (!idsB.has(n.id))
      nodes.push({ id: n.id, state: "removed", node: n, fields: [], moved: false });

  const joinedA = new Set(a.edges.map(endpoints));
  const joinedB = new Set(b.edges.map(endpoints));
  const edgesA = new Map(a.edges.map((e) => [e.id, e]));
  const rewired = new Set<string>();
  const edges: EdgeDiff[] = b.edges.map((e) => {
    if (joinedA.has(endpoints(e))) return { state: "same", edge: e };
    const old = edgesA.get(e.id);
    if (old && !joinedB.has(endpoints(old))) {
      rewired.add(old.id);
      return { state: "changed", edge: e, before: old };
    }
    return { state: "added", edge: e };
  });
  const idsUsed = new Set(b.edges.map((e) => e.id));
  for (const e of a.edges) {
    if (joinedB.has(endpoints(e)) || rewired.has(e.id)) continue;
    const id = idsUsed.has(e.id) ? `removed:${e.id}` : e.id;
    edges.push({ state: "removed", edge: { ...e, id } });
  }

  const counts: Record<ChangeState, number> = { added: 0, removed: 0, changed: 0, same: 0 };
  for (const n of nodes) counts[n.state] += 1;
  return { nodes, edges, counts };
}

/** A field value as a short line of text for the change list. */
export function formatFieldValue(v: unknown): string {
  if (v === undefined) return "(not set)";
  if (typeof v === "string") return JSON.stringify(v);
  return stable(v);
}
