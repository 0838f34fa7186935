import { useMemo } from "react";
import CodeMirror, { EditorState, EditorView } from "@uiw/react-codemirror";

export interface ExpressionEditorProps {
  value: string;
  onChange: (v: string) => void;
  /** Names offered while typing: `value`, `value.amount`, … */
  completions: string[];
  /** Ids of the label and help that describe the field. */
  labelledBy: string;
  describedBy?: string;
  invalid?: boolean;
}

// The completion source's context, as @codemirror/autocomplete passes it.
interface CompletionContext {
  pos: number;
  explicit: boolean;
  matchBefore(re: RegExp): { from: number; to: number; text: string } | null;
}

const setup = {
  lineNumbers: false,
  foldGutter: false,
  highlightActiveLine: false,
  highlightActiveLineGutter: false,
  searchKeymap: false,
  autocompletion: true,
};

/** A small CodeMirror field (no language package) that completes the names an expression can use. */
export default function ExpressionEditor({
  value,
  onChange,
  completions,
  labelledBy,
  describedBy,
  invalid,
}: ExpressionEditorProps) {
  const extensions = useMemo(() => {
    const source = (ctx: CompletionContext) => {
      const word = ctx.matchBefore(/[A-Za-z_][\w.]*$/);
      if (!word && !ctx.explicit) return null;
      const typed = word?.text ?? "";
      const options = completions
        .filter((c) => c.startsWith(typed) && c !== typed)
        .map((label) => ({ label, type: label.includes(".") ? "property" : "variable" }));
      if (options.length === 0) return null;
      return { from: word?.from ?? ctx.pos, options };
    };
    return [
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({
        "aria-labelledby": labelledBy,
        ...(describedBy ? { "aria-describedby": describedBy } : {}),
        ...(invalid ? { "aria-invalid": "true" } : {}),
        "aria-multiline": "true",
      }),
      EditorState.languageData.of(() => [{ autocomplete: source }]),
    ];
  }, [completions, labelledBy, describedBy, invalid]);
  return (
    <div
      className={
        "nodrag overflow-hidden rounded-md text-sm ring-1 " +
        (invalid ? "ring-rose-500" : "ring-slate-300 focus-within:ring-indigo-500")
      }
      data-testid="expression-editor"
    >
      <CodeMirror
        value={value}
        minHeight="3.5rem"
        extensions={extensions}
        onChange={onChange}
        basicSetup={setup}
      />
    </div>
  );
}
