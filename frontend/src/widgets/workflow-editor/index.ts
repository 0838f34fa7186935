export { WorkflowEditor, type WorkflowEditorProps } from "./ui/editor";
export type { RunPanel } from "./ui/bottom-panel";
export { commandFor } from "./model/shortcuts";
