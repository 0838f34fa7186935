import CodeMirror from "@uiw/react-codemirror";
import { python } from "@codemirror/lang-python";

const extensions = [python()];

/** Python code editor (CodeMirror 6); only pages that need it load it. */
export function CodeEditor({
  value,
  onChange,
  label,
  readOnly,
  height = "420px",
}: {
  value: string;
  onChange?: (v: string) => void;
  label: string;
  readOnly?: boolean;
  height?: string;
}) {
  return (
    <div className="overflow-hidden rounded-md ring-1 ring-slate-300" data-testid="code-editor">
      <CodeMirror
        value={value}
        height={height}
        extensions={extensions}
        onChange={onChange}
        readOnly={readOnly}
        aria-label={label}
        basicSetup={{ tabSize: 4 }}
      />
    </div>
  );
}
