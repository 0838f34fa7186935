export { WorkflowEditor, type WorkflowEditorProps } from "./ui/editor";
export { commandFor } from "./model/shortcuts";
