import { useId, useState } from "react";
import { Link } from "react-router";
import { Badge, Button, Textarea } from "@/shared/ui";
import { formatDateTime } from "@/shared/lib";
import {
  APPROVAL_STATUS_LABELS,
  MAX_COMMENT_CHARS,
  decisionSummary,
  subjectText,
  type Approval,
  type ApprovalStatus,
  type DecisionTarget,
} from "@/entities/approval";
import { decisionErrorMessage, useDecide } from "./use-decide";

const tones: Record<ApprovalStatus, "indigo" | "green" | "rose" | "amber"> = {
  pending: "indigo",
  approved: "green",
  rejected: "rose",
  cancelled: "amber",
};

/**
 * One approval: where it stands, who may decide, until when, the value
 * under review, and (for an approver while it is pending) a comment box with
 * Approve and Reject. The same panel serves the run view and the approval task.
 */
export function ApprovalPanel({
  approval: a,
  target,
  runHref,
}: {
  approval: Approval;
  /** Where the verdict goes: the run's node (run view) or the approval (task). */
  target: DecisionTarget;
  /** A link to the run, shown where the run is not on screen already. */
  runHref?: string;
}) {
  const headingId = useId();
  // Held here, not in the form: a 409 refreshes the approval, the form goes,
  // and the refusal must stay readable next to the decision that won.
  const decision = useDecide(target);
  const open = a.status === "pending";
  const regular = a.approvers.filter((p) => !p.escalation);
  const escalation = a.approvers.filter((p) => p.escalation);
  return (
    <section
      aria-labelledby={headingId}
      className="space-y-3 rounded-lg border border-indigo-200 bg-indigo-50/40 p-3 text-sm"
      data-testid="approval-panel"
      data-status={a.status}
    >
      <div className="flex flex-wrap items-center gap-2">
        <h3 id={headingId} className="font-semibold text-slate-900">
          Approval
        </h3>
        <span data-testid="approval-status">
          <Badge tone={tones[a.status]}>{APPROVAL_STATUS_LABELS[a.status]}</Badge>
        </span>
        {a.escalated && <Badge tone="amber">escalated</Badge>}
        {a.attempt > 1 && <span className="text-xs text-slate-600">attempt {a.attempt}</span>}
        {runHref && (
          <Link
            to={runHref}
            className="ml-auto text-xs font-medium text-indigo-700 underline"
            data-testid="approval-run-link"
          >
            Open run #{a.runId} (node {a.nodeId})
          </Link>
        )}
      </div>

      <dl className="grid grid-cols-[7rem_1fr] gap-x-3 gap-y-1.5 text-xs">
        <dt className="text-slate-600">Approvers</dt>
        <dd className="flex flex-wrap gap-1" data-testid="approval-approvers">
          {regular.map((p) => (
            <span key={p.id} className="rounded-full bg-white px-2 py-0.5 ring-1 ring-slate-200">
              {p.username}
            </span>
          ))}
          {escalation.map((p) => (
            <span
              key={p.id}
              className="rounded-full bg-amber-50 px-2 py-0.5 text-amber-900 ring-1 ring-amber-300"
              title="Added when the approval escalated"
            >
              {p.username} <span className="text-amber-800">(escalation)</span>
            </span>
          ))}
          {!a.approvers.length && <span className="text-slate-600">Nobody</span>}
        </dd>
        <dt className="text-slate-600">Deadline</dt>
        <dd className="text-slate-800">
          {a.deadline ? formatDateTime(a.deadline) : "None: it waits until someone decides"}
        </dd>
        <dt className="text-slate-600">Requested</dt>
        <dd className="text-slate-800">{formatDateTime(a.createdAt)}</dd>
      </dl>

      <div>
        <p className="mb-1 text-xs font-medium text-slate-700">Under review</p>
        {/* Text, not markup: the value is whatever the upstream node produced. */}
        <pre
          className="max-h-56 overflow-auto rounded-md bg-white p-2 font-mono text-xs whitespace-pre-wrap text-slate-800 ring-1 ring-slate-200"
          tabIndex={0}
          aria-label="The value under review"
          data-testid="approval-subject"
        >
          {subjectText(a.subject)}
        </pre>
      </div>

      {!open && (
        <div className="space-y-1" data-testid="approval-decision">
          <p className="font-medium text-slate-800">
            {decisionSummary(a)}
            {a.decidedAt && (
              <span className="font-normal text-slate-600"> · {formatDateTime(a.decidedAt)}</span>
            )}
          </p>
          {a.comment && (
            <blockquote
              className="border-l-2 border-slate-300 pl-2 text-slate-700 whitespace-pre-wrap"
              data-testid="approval-comment"
            >
              {a.comment}
            </blockquote>
          )}
        </div>
      )}

      {decision.error && (
        <p
          role="alert"
          className="rounded-md bg-rose-50 px-2 py-1.5 text-xs text-rose-800 ring-1 ring-rose-200"
          data-testid="approval-error"
        >
          {decisionErrorMessage(decision.error)}
        </p>
      )}
      {open && a.canDecide && <DecisionForm key={a.id} decision={decision} />}
      {open && !a.canDecide && (
        <p className="text-xs text-slate-600" data-testid="approval-not-yours">
          Only {a.approvers.map((p) => p.username).join(", ") || "the approvers"} and admins can
          decide.
        </p>
      )}
    </section>
  );
}

function DecisionForm({ decision: decide }: { decision: ReturnType<typeof useDecide> }) {
  const [comment, setComment] = useState("");
  const commentId = useId();
  const send = (verdict: "approve" | "reject") =>
    decide.mutate({ verdict, comment: comment.trim() || undefined });
  return (
    <div className="space-y-2" data-testid="approval-form">
      <label htmlFor={commentId} className="block text-xs font-medium text-slate-700">
        Comment (optional; the approvers, the run and the task show it)
      </label>
      <Textarea
        id={commentId}
        className="min-h-16"
        maxLength={MAX_COMMENT_CHARS}
        value={comment}
        onChange={(e) => setComment(e.target.value)}
      />
      <div className="flex gap-2">
        <Button
          variant="primary"
          size="sm"
          loading={decide.isPending && decide.variables?.verdict === "approve"}
          disabled={decide.isPending}
          onClick={() => send("approve")}
        >
          Approve
        </Button>
        <Button
          variant="danger"
          size="sm"
          loading={decide.isPending && decide.variables?.verdict === "reject"}
          disabled={decide.isPending}
          onClick={() => send("reject")}
        >
          Reject
        </Button>
      </div>
    </div>
  );
}
