export { blankSpec, specOf } from "./model/spec";
export type { TestPanel } from "./model/types";
export { TemplateEditor, type TemplateEditorProps } from "./ui/template-editor";
