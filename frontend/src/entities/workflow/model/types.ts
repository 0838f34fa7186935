import type { ParamSpec, PortSpec, PortType } from "@/entities/template";

export interface TemplateRef {
  name: string;
  version: number;
}

export interface NodeLimits {
  timeoutSeconds?: number;
  memoryMib?: number;
  cpuMillicores?: number;
}

/** A node of a workflow graph, as the API stores it. */
export interface GraphNode {
  id: string;
  template: TemplateRef;
  position: { x: number; y: number };
  label?: string | null;
  params: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  limits?: NodeLimits;
  notes?: string;
  /** When the node may start, judged from its upstream nodes (default `all_succeeded`). */
  trigger?: TriggerRule;
}

/** The trigger rules a node may have; see the README's "Flow control" section. */
export const TRIGGER_RULES = [
  [
    "all_succeeded",
    "All upstream succeeded",
    "The default. Skipped as soon as an upstream node fails or lies on a branch not taken.",
  ],
  [
    "none_failed_min_one_success",
    "None failed, one ran",
    "For a join after a Condition or Approval: runs once every upstream node is done, none failed and at least one ran.",
  ],
  [
    "any_succeeded",
    "Any upstream succeeded",
    "Runs once every upstream node is done and at least one succeeded.",
  ],
  [
    "all_done",
    "All upstream done",
    "Runs once every upstream node is done, whatever the outcome (clean-up, reports).",
  ],
] as const;

export type TriggerRule = (typeof TRIGGER_RULES)[number][0];

export interface GraphEdge {
  id: string;
  source: string;
  sourcePort: string;
  target: string;
  targetPort: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** The flow node kinds the platform runs itself. */
export type BuiltinKind =
  "condition" | "switch" | "wait" | "approval" | "notification" | "task" | "query";

/** What the graph rules need to know about a template version. */
export interface TemplateInfo {
  name: string;
  version: number;
  title: string;
  category?: string;
  inputs: PortSpec[];
  outputs: PortSpec[];
  parameters: ParamSpec[];
  limits?: { timeoutSeconds: number; memoryMib: number; cpuMillicores: number };
  deleted?: boolean;
  /** Set on the platform's flow nodes, which run without Python. */
  builtin?: BuiltinKind | null;
}

export type TemplateLookup = (ref: TemplateRef) => TemplateInfo | undefined;

export type Severity = "error" | "warning";

/** One graph problem; the same shape as the server's `Problem`. */
export interface Problem {
  severity: Severity;
  code: string;
  message: string;
  nodeId?: string | null;
  edgeId?: string | null;
  port?: string | null;
  nodes?: string[];
}

export type { PortType };

export function templateKey(ref: TemplateRef): string {
  return `${ref.name}@${ref.version}`;
}
