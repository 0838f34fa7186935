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
  if (!(error instanceof ApiError) || error.status !== 409) return null;
  const current = (error.details as { currentRevision?: number } | undefined)?.currentRevision;
  return { currentRevision: current ?? editingRevision + 1 };
}

export function savedMessage(saved: {
  revision: number;
  problems?: { severity: string }[] | null;
}): string {
  const errs = (saved.problems ?? []).filter((p) => p.severity === "error").length;
  return `Saved revision ${saved.revision}${errs ? ` with ${errs} problem${errs === 1 ? "" : "s"}` : ""}.`;
}
