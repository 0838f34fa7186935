import { YamlEditor } from "@/shared/code";
import { Spinner } from "@/shared/ui";
import type { ManifestError, Problem } from "@/entities/workflow";
import { describeMistake } from "../model/yaml-outcome";

/**
 * The draft as its Workflow manifest. Text that parses replaces the draft;
 * a mistake shows at its line and in the bar above the text.
 */
export function YamlPanel({
  text,
  mistake,
  problems,
  busy,
  readOnly,
  onEdit,
}: {
  text: string;
  mistake: ManifestError | null;
  problems: Problem[];
  busy: "rendering" | "parsing" | null;
  readOnly: boolean;
  onEdit: (text: string) => void;
}) {
  const errors = problems.filter((p) => p.severity === "error");
  return (
    <div className="flex min-h-0 flex-1 flex-col bg-white" data-testid="yaml-view">
      <div
        role="status"
        data-testid="yaml-status"
        data-state={mistake ? "mistake" : busy ? "busy" : "ok"}
        className={
          "flex min-h-8 items-center gap-2 border-b px-3 py-1.5 text-xs " +
          (mistake
            ? "border-rose-200 bg-rose-50 text-rose-800"
            : "border-slate-200 bg-slate-50 text-slate-600")
        }
      >
        {busy && <Spinner className="h-3 w-3" />}
        {mistake ? (
          <span data-testid="yaml-mistake">{describeMistake(mistake)}</span>
        ) : busy === "rendering" ? (
          "Rendering the manifest…"
        ) : busy === "parsing" ? (
          "Checking…"
        ) : readOnly ? (
          "Read-only: this workflow is managed in the cluster."
        ) : (
          "Edits that parse go straight into the draft; Save keeps them as a revision."
        )}
      </div>
      {problems.length > 0 && !mistake && (
        <ul
          className="max-h-28 overflow-auto border-b border-amber-200 bg-amber-50 px-3 py-1 text-xs text-amber-900"
          data-testid="yaml-problems"
          aria-label="Graph problems"
        >
          {problems.map((p, i) => (
            <li key={i}>
              <b>{p.severity === "error" ? "Error" : "Warning"}</b>
              {p.nodeId ? ` in ${p.nodeId}` : ""}: {p.message}
            </li>
          ))}
          {errors.length > 0 && (
            <li className="text-amber-700">
              The draft holds the graph anyway; fix the problems before running it.
            </li>
          )}
        </ul>
      )}
      <div className="min-h-0 flex-1 overflow-hidden">
        <YamlEditor
          value={text}
          onChange={readOnly ? undefined : onEdit}
          readOnly={readOnly}
          mistake={mistake}
          label="Workflow manifest (YAML)"
        />
      </div>
    </div>
  );
}
