import { api, unwrap, type Schemas } from "@/shared/api";
import type { Graph, Problem } from "./model";
import type { Workflow } from "./api";

/** A workflow as its `Workflow` manifest; `name` is the resource name (and file name). */
export type ManifestText = Schemas["ManifestText"];

/** What is wrong with a manifest's text, with its 1-based place when known. */
export type ManifestError = Schemas["ManifestError"];

export interface ParsedWorkflow {
  resourceName: string;
  clientId: number;
  name: string;
  description: string;
  graph: Graph;
}

export interface ParseResult {
  /** No manifest error and no graph error (warnings allowed). */
  valid: boolean;
  error: ManifestError | null;
  workflow: ParsedWorkflow | null;
  problems: Problem[];
}

export interface DraftManifest {
  workflowId?: number;
  clientId: number;
  name: string;
  description: string;
  graph: Graph;
}

/** Who keeps a workflow: the browser, or manifests applied to the cluster. */
export type WorkflowSource = Schemas["WorkflowSource"];

/**
 * The fields that say whether a workflow is managed in the cluster; list
 * summaries carry only `source`.
 */
export type ManagedFields = Pick<Workflow, "source"> &
  Partial<Pick<Workflow, "resourceName" | "resourceNamespace" | "editable">>;

export function isClusterManaged(w: ManagedFields): boolean {
  return w.source === "cluster";
}

/** Cluster-managed workflows are read-only in the browser unless write-back is on. */
export function isEditable(w: ManagedFields): boolean {
  return w.editable ?? true;
}

export function fetchManifest(id: number): Promise<ManifestText> {
  return unwrap(api.GET("/api/workflows/{id}/manifest", { params: { path: { id } } }));
}

/** The exact manifest of an unsaved draft. */
export function renderManifest(draft: DraftManifest): Promise<ManifestText> {
  return unwrap(
    api.POST("/api/workflows/manifest/render", {
      body: draft as unknown as Schemas["RenderRequest"],
    }),
  );
}

/**
 * Parses manifest text without saving anything; with `workflowId`, its
 * triggers are checked as that workflow's.
 */
export async function parseManifest(yaml: string, workflowId?: number): Promise<ParseResult> {
  const r = await unwrap(api.POST("/api/workflows/manifest/parse", { body: { yaml, workflowId } }));
  return {
    valid: r.valid,
    error: r.error ?? null,
    problems: r.problems as Problem[],
    workflow: r.workflow ? { ...r.workflow, graph: r.workflow.graph as unknown as Graph } : null,
  };
}

/** Creates a workflow from a manifest, or saves a new revision of the one with its name. */
export function applyManifest(yaml: string): Promise<Workflow> {
  return unwrap(api.POST("/api/workflows/manifest/apply", { body: { yaml } }));
}

/** A UI-managed copy of any workflow (how a cluster-managed one is taken over). */
export function copyWorkflow(id: number): Promise<Workflow> {
  return unwrap(api.POST("/api/workflows/{id}/copy", { params: { path: { id } } }));
}

/** Largest manifest file read (the server accepts up to 2 MiB as well). */
export const MAX_MANIFEST_BYTES = 2 * 1024 * 1024;

/**
 * Why a file cannot be a manifest before asking the server, judged by its
 * size and content (a NUL byte means binary), never by its name.
 */
export function manifestFileProblem(size: number, text: string): string | null {
  if (size > MAX_MANIFEST_BYTES) return "The file is larger than 2 MiB.";
  if (text.includes("\u0000")) return "The file is binary, not YAML text.";
  if (!text.trim()) return "The file is empty.";
  return null;
}
