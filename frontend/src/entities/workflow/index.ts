export * from "./model";
export {
  fetchRevision,
  fetchWorkflow,
  saveWorkflow,
  useCreateWorkflow,
  useDeleteWorkflow,
  useRevisions,
  useWorkflow,
  useWorkflowList,
  useWorkflows,
  workflowQuery,
  validateOnServer,
  workflowKeys,
  type Workflow,
  type WorkflowFilter,
  type WorkflowSummary,
} from "./api";
