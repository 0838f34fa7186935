export { clusterRefusal, conflictFrom, savedMessage, type SaveConflict } from "./model/outcome";
export { useSaveWorkflow, type SaveWorkflowOptions } from "./model/use-save-workflow";
export { SaveButton } from "./ui/save-button";
export { SaveConflictDialog } from "./ui/save-conflict-dialog";
