import { ApiError } from "@/shared/api";

/** Someone else saved `currentRevision` after the revision being edited. */
export interface SaveConflict {
  currentRevision: number;
}

/**
 * Whether a failed save lost a race with another save (409). The server
 * names the revision that won; without it, the next one is the best guess.
 */
export function conflictFrom(error: unknown, editingRevision: number): SaveConflict | null {
  if (!(error instanceof ApiError) || error.status !== 409 || clusterRefusal(error)) return null;
  const current = (error.details as { currentRevision?: number } | undefined)?.currentRevision;
  return { currentRevision: current ?? editingRevision + 1 };
}

/** 409 codes that are about the cluster owning the workflow, not a lost race. */
const CLUSTER_CODES: Record<string, string> = {
  workflow_managed_in_cluster:
    "Not saved: this workflow is managed in the cluster. Change its manifest in Git, or copy it to a UI-managed workflow.",
  cluster_conflict:
    "Not saved: the workflow's manifest in the cluster changed since you opened it. Reload the page to see the cluster's version.",
};

/** The sentence for a save the cluster refused, or null for any other failure. */
export function clusterRefusal(error: unknown): string | null {
  if (!(error instanceof ApiError) || error.status !== 409) return null;
  return CLUSTER_CODES[error.code] ?? null;
}

export function savedMessage(saved: {
  revision: number;
  problems?: { severity: string }[] | null;
}): string {
  const errs = (saved.problems ?? []).filter((p) => p.severity === "error").length;
  return `Saved revision ${saved.revision}${errs ? ` with ${errs} problem${errs === 1 ? "" : "s"}` : ""}.`;
}
