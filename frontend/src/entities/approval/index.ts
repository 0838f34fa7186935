export {
  approvalKeys,
  decide,
  useApproval,
  useRunApprovals,
  type Approval,
  type ApprovalStatus,
  type DecisionTarget,
  type Verdict,
} from "./api";
export {
  APPROVAL_STATUS_LABELS,
  APPROVAL_TEMPLATE,
  MAX_COMMENT_CHARS,
  approvalOfNode,
  decisionSummary,
  subjectText,
} from "./model";
