import { Suspense, lazy } from "react";
import type { ExpressionEditorProps } from "./expression-editor";

// CodeMirror loads with the first expression field, not with the workflow editor.
const Editor = lazy(() => import("./expression-editor"));

/** CEL-style expression field with completion of the given names. */
export function ExpressionEditor(props: ExpressionEditorProps) {
  return (
    <Suspense fallback={<div className="h-14 animate-pulse rounded-md bg-slate-50" />}>
      <Editor {...props} />
    </Suspense>
  );
}
