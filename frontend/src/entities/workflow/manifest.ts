import { authFetch, toApiError } from "@/shared/api";
import type { Graph, Problem } from "./model";
import type { Workflow } from "./api";

/** A workflow as its `Workflow` manifest; `name` is the resource name (and file name). */
export interface ManifestText {
  name: string;
  yaml: string;
}

/** What is wrong with a manifest's text, with its 1-based place when known. */
export interface ManifestError {
  message: string;
  line?: number | null;
  column?: number | null;
}

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
export type WorkflowSource = "ui" | "cluster";

/** The fields that say whether a workflow is managed in the cluster. */
export interface ManagedFields {
  source?: WorkflowSource;
  resourceName?: string | null;
  resourceNamespace?: string | null;
  editable?: boolean;
}

export function isClusterManaged(w: ManagedFields): boolean {
  return w.source === "cluster";
}

/** Cluster-managed workflows are read-only in the browser unless write-back is on. */
export function isEditable(w: ManagedFields): boolean {
  return w.editable ?? true;
}

async function send<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const res = await authFetch(
    new Request(path, {
      method,
      headers: body === undefined ? undefined : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  const parsed: unknown = await res.json().catch(() => undefined);
  if (!res.ok) throw toApiError(res, parsed);
  return parsed as T;
}

export function fetchManifest(id: number): Promise<ManifestText> {
  return send("GET", `/api/workflows/${id}/manifest`);
}

/** The exact manifest of an unsaved draft. */
export function renderManifest(draft: DraftManifest): Promise<ManifestText> {
  return send("POST", "/api/workflows/manifest/render", draft);
}

/** Parses manifest text without saving anything. */
export function parseManifest(yaml: string): Promise<ParseResult> {
  return send("POST", "/api/workflows/manifest/parse", { yaml });
}

/** Creates a workflow from a manifest, or saves a new revision of the one with its name. */
export function applyManifest(yaml: string): Promise<Workflow> {
  return send("POST", "/api/workflows/manifest/apply", { yaml });
}

/** A UI-managed copy of any workflow (how a cluster-managed one is taken over). */
export function copyWorkflow(id: number): Promise<Workflow> {
  return send("POST", `/api/workflows/${id}/copy`);
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
