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
  validateOnServer,
  workflowKeys,
  type Workflow,
  type WorkflowSummary,
} from "./api";
