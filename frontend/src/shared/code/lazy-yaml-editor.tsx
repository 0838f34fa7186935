import { Suspense, lazy } from "react";
import type { YamlEditorProps } from "./yaml-editor";

// CodeMirror's YAML mode loads when the YAML view first opens.
const Editor = lazy(() => import("./yaml-editor"));

export function YamlEditor(props: YamlEditorProps) {
  return (
    <Suspense fallback={<div className="h-full animate-pulse bg-slate-50" />}>
      <Editor {...props} />
    </Suspense>
  );
}
