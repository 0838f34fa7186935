import { useEffect, useMemo, useState } from "react";
import CodeMirror, { EditorView } from "@uiw/react-codemirror";
import { yaml } from "@codemirror/lang-yaml";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";

/** A mistake at a 1-based place in the text (the place may be unknown). */
export interface TextMistake {
  message: string;
  line?: number | null;
  column?: number | null;
}

export interface YamlEditorProps {
  value: string;
  onChange?: (v: string) => void;
  label: string;
  readOnly?: boolean;
  /** Shown as a lint diagnostic at its line (the first line when unknown). */
  mistake?: TextMistake | null;
  height?: string;
}

/** The mistake's range in `doc`, clamped to the text so stale positions stay valid. */
function rangeOf(view: EditorView, m: TextMistake): { from: number; to: number } {
  const doc = view.state.doc;
  const line = doc.line(Math.min(Math.max(m.line ?? 1, 1), doc.lines));
  const from = Math.min(line.from + Math.max((m.column ?? 1) - 1, 0), line.to);
  return { from, to: from < line.to ? line.to : from };
}

/** YAML editor (CodeMirror 6) with one diagnostic for the text's first mistake. */
export default function YamlEditor({
  value,
  onChange,
  label,
  readOnly,
  mistake,
  height = "100%",
}: YamlEditorProps) {
  const [view, setView] = useState<EditorView | null>(null);
  const extensions = useMemo(
    () => [yaml(), lintGutter(), EditorView.contentAttributes.of({ "aria-label": label })],
    [label],
  );
  useEffect(() => {
    if (!view) return;
    const diagnostics: Diagnostic[] = mistake
      ? [{ ...rangeOf(view, mistake), severity: "error", message: mistake.message }]
      : [];
    view.dispatch(setDiagnostics(view.state, diagnostics));
  }, [view, mistake]);
  return (
    <CodeMirror
      value={value}
      height={height}
      className="h-full text-[13px]"
      extensions={extensions}
      onChange={onChange}
      readOnly={readOnly}
      editable={!readOnly}
      onCreateEditor={setView}
      basicSetup={{ tabSize: 2 }}
    />
  );
}
