export * from "./model";
export {
  fetchRevision,
  fetchWorkflow,
  saveWorkflow,
  useCreateWorkflow,
  useDeleteWorkflow,
  useRevisions,
  useWorkflow,
  useWorkflows,
  workflowQuery,
  validateOnServer,
  workflowKeys,
  type Workflow,
  type WorkflowSummary,
} from "./api";
