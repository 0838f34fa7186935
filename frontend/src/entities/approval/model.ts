import type { Approval, ApprovalStatus } from "./api";

/** The template of the platform's approval node. */
export const APPROVAL_TEMPLATE = "flow.approval";

/** The longest comment the server takes. */
export const MAX_COMMENT_CHARS = 10_000;

export const APPROVAL_STATUS_LABELS: Record<ApprovalStatus, string> = {
  pending: "Waiting for a decision",
  approved: "Approved",
  rejected: "Rejected",
  cancelled: "Cancelled",
};

/** The approval a node stands at now: its newest attempt's. */
export function approvalOfNode(approvals: Approval[], nodeId: string): Approval | undefined {
  let best: Approval | undefined;
  for (const a of approvals)
    if (
      a.nodeId === nodeId &&
      (!best || a.attempt > best.attempt || (a.attempt === best.attempt && a.id > best.id))
    )
      best = a;
  return best;
}

/** The reviewed value as indented JSON text (rendered as text, never as markup). */
export function subjectText(subject: unknown): string {
  if (subject === undefined) return "null";
  try {
    return JSON.stringify(subject, null, 2) ?? "null";
  } catch {
    return String(subject);
  }
}

/**
 * Who decided and how, in one sentence: "Approved by noor", "Rejected
 * automatically when the deadline passed", "Cancelled with the run".
 */
export function decisionSummary(a: Pick<Approval, "status" | "decidedBy" | "decidedVia">): string {
  if (a.status === "pending") return "Waiting for a decision";
  if (a.status === "cancelled") return "Cancelled before anyone decided";
  const verdict = a.status === "approved" ? "Approved" : "Rejected";
  if (a.decidedVia === "timeout") return `${verdict} automatically when the deadline passed`;
  return a.decidedBy ? `${verdict} by ${a.decidedBy}` : verdict;
}
