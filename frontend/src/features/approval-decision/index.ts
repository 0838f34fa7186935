export { ApprovalPanel } from "./approval-panel";
export { decisionErrorMessage, useDecide } from "./use-decide";
