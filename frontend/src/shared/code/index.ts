// Kept apart from shared/ui so CodeMirror loads only with the pages that use it.
export { CodeEditor } from "./code-editor";
export { CodeDiff } from "./code-diff";
export { ExpressionEditor } from "./lazy-expression-editor";
export { YamlEditor } from "./lazy-yaml-editor";
export type { TextMistake, YamlEditorProps } from "./yaml-editor";
