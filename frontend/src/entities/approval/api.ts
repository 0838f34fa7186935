import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";

export type Approval = Schemas["Approval"];
export type ApprovalStatus = Schemas["ApprovalStatus"];
export type Verdict = Schemas["Verdict"];

export const approvalKeys = {
  all: ["approvals"] as const,
  one: (id: number) => ["approvals", "one", id] as const,
  ofRun: (runId: number) => ["approvals", "run", runId] as const,
};

/** One approval (`GET /api/approvals/{id}`): its approvers, admins and whoever sees the run. */
export function useApproval(id: number | null) {
  return useQuery({
    queryKey: approvalKeys.one(id ?? 0),
    enabled: id != null,
    queryFn: () => unwrap(api.GET("/api/approvals/{id}", { params: { path: { id: id! } } })),
  });
}

/** Every approval of a run, every attempt (`GET /api/runs/{id}/approvals`). */
export function useRunApprovals(runId: number, enabled = true) {
  return useQuery({
    queryKey: approvalKeys.ofRun(runId),
    enabled,
    queryFn: () => unwrap(api.GET("/api/runs/{id}/approvals", { params: { path: { id: runId } } })),
  });
}

/** Where a decision is sent: the approval itself (from its task) or the node a run waits at. */
export type DecisionTarget = { approvalId: number } | { runId: number; nodeId: string };

export function decide(
  target: DecisionTarget,
  body: { verdict: Verdict; comment?: string | null },
): Promise<Approval> {
  if ("approvalId" in target)
    return unwrap(
      api.POST("/api/approvals/{id}/decision", {
        params: { path: { id: target.approvalId } },
        body,
      }),
    );
  return unwrap(
    api.POST("/api/runs/{id}/nodes/{node}/decision", {
      params: { path: { id: target.runId, node: target.nodeId } },
      body,
    }),
  );
}
