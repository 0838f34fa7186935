import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError } from "@/shared/api";
import { toast } from "@/shared/ui";
import { approvalKeys, decide, type DecisionTarget, type Verdict } from "@/entities/approval";
import { runKeys } from "@/entities/run";
import { taskKeys } from "@/entities/task";

/** A refusal in words: who may decide, or that someone already did. */
export function decisionErrorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 403)
      return "You cannot decide this approval: only its approvers and admins may.";
    if (error.status === 404) return "This approval is not visible to you (or no longer exists).";
    if (error.status === 409) return `Too late: ${error.message}.`;
    return error.message;
  }
  return error instanceof Error ? error.message : "The decision could not be sent.";
}

/**
 * Sends a verdict; the answer replaces the cached approval, and the run, its
 * approvals and the approval task are read again (the run also moves on
 * through its own event stream). A 409 refreshes too, to show who was first.
 */
export function useDecide(target: DecisionTarget) {
  const qc = useQueryClient();
  const refresh = (runId?: number, taskId?: number | null) => {
    void qc.invalidateQueries({ queryKey: approvalKeys.all });
    if (runId != null) void qc.invalidateQueries({ queryKey: runKeys.one(runId) });
    if (taskId != null) void qc.invalidateQueries({ queryKey: taskKeys.detail(taskId) });
    void qc.invalidateQueries({ queryKey: taskKeys.lists });
  };
  return useMutation({
    mutationFn: (body: { verdict: Verdict; comment?: string }) => decide(target, body),
    // The panel shows the refusal next to the buttons.
    meta: { silent: true },
    onSuccess: (a) => {
      qc.setQueryData(approvalKeys.one(a.id), a);
      refresh(a.runId, a.taskId);
      toast.success(
        a.status === "approved"
          ? `Approved. Run #${a.runId} carries on down "approved".`
          : `Rejected. Run #${a.runId} carries on down "rejected".`,
      );
    },
    onError: (e) => {
      if (e instanceof ApiError && e.status === 409)
        refresh("runId" in target ? target.runId : undefined);
    },
  });
}
