import { useId, useMemo } from "react";
import { ExpressionEditor } from "@/shared/code";
import type { Run } from "@/entities/run";
import type { ParamSpec } from "@/entities/template";
import type { GraphNode, TemplateInfo, Workflow } from "@/entities/workflow";
import { useEditor } from "../model/context";
import {
  completionCandidates,
  expressionOutcome,
  inputDataFromRun,
  outcomeSentence,
} from "../model/expression-hints";
import { useLastRun } from "../model/use-active-run";

/**
 * The expression of a Condition or Switch: a code field that completes the
 * node's input names (and their fields as the last run saw them), with the
 * result the expression gave in that run underneath.
 */
export function ExpressionField({
  node,
  spec,
  template,
  saved,
  openRun,
  error,
  onChange,
}: {
  node: GraphNode;
  spec: ParamSpec;
  template: TemplateInfo;
  /** The stored workflow the editor started from or last saved. */
  saved: Workflow;
  openRun: Run | undefined;
  error?: string;
  onChange: (v: string | undefined) => void;
}) {
  const id = useId();
  const edges = useEditor((s) => s.edges);
  const run = useLastRun(saved.id, openRun);
  const value = str(node.params[spec.name] ?? spec.default);
  const completions = useMemo(
    () =>
      completionCandidates(
        template.inputs.map((p) => p.name),
        run ? inputDataFromRun(run, edges, node.id) : {},
      ),
    [template.inputs, run, edges, node.id],
  );
  const savedNode = (saved.graph as unknown as { nodes: GraphNode[] }).nodes.find(
    (n) => n.id === node.id,
  );
  const savedValue = str(savedNode?.params[spec.name] ?? spec.default);
  const staleNote = !run
    ? null
    : run.workflowRevision !== saved.revision
      ? `The run used revision ${run.workflowRevision}; the expression may have changed since.`
      : value !== savedValue
        ? "The expression was edited since: this result is from the saved version."
        : null;
  const label = spec.label || spec.name;
  return (
    <div className="space-y-1">
      <p id={`${id}-label`} className="block text-xs font-medium text-slate-700">
        {label}
        {spec.required && <span className="text-rose-600"> *</span>}
      </p>
      <ExpressionEditor
        value={value}
        onChange={(v) => onChange(v === "" ? undefined : v)}
        completions={completions}
        labelledBy={`${id}-label`}
        describedBy={`${id}-help ${id}-result`}
        invalid={!!error}
      />
      <p id={`${id}-help`} className={error ? "text-xs text-rose-600" : "text-xs text-slate-600"}>
        {error ??
          withCode(
            `${spec.help ? `${spec.help} ` : ""}Ctrl+Space lists the inputs (${
              template.inputs.map((p) => p.name).join(", ") || "none"
            }) and their fields.`,
          )}
      </p>
      {run && (
        <p
          id={`${id}-result`}
          role="status"
          aria-label="Result on the last run"
          className="rounded bg-slate-50 px-2 py-1 text-xs text-slate-700"
          data-testid="expression-last-run"
        >
          {outcomeSentence(expressionOutcome(run, node.id))}{" "}
          <span className="text-slate-500">(run #{run.id})</span>
          {staleNote && <span className="block text-amber-700">{staleNote}</span>}
        </p>
      )}
    </div>
  );
}

/** Help text with `backticked` parts shown as code; all of it stays text. */
function withCode(text: string) {
  return text.split("`").map((part, i) =>
    i % 2 ? (
      <code key={i} className="rounded bg-slate-100 px-1 font-mono text-[11px] text-slate-800">
        {part}
      </code>
    ) : (
      part
    ),
  );
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v == null ? "" : String(v);
}
