import { cn } from "@/shared/lib";
import type { Problem } from "@/entities/workflow";

/** Every problem of the graph; clicking one selects the element it is about. */
export function ProblemsPanel({
  problems,
  onPick,
  source,
}: {
  problems: Problem[];
  onPick: (p: Problem) => void;
  source: "client" | "server";
}) {
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  return (
    <section
      className="flex max-h-44 shrink-0 flex-col border-t border-slate-200 bg-white"
      aria-label="Problems"
    >
      <div className="flex items-center gap-3 border-b border-slate-100 px-3 py-1.5 text-xs">
        <span className="font-semibold text-slate-700">Problems</span>
        <span
          className={cn(errors ? "text-rose-600" : "text-slate-500")}
          data-testid="problem-count"
        >
          {errors} {errors === 1 ? "error" : "errors"}
        </span>
        <span className={cn(warnings ? "text-amber-600" : "text-slate-500")}>
          {warnings} {warnings === 1 ? "warning" : "warnings"}
        </span>
        <span className="ml-auto text-slate-500">
          {source === "server" ? "checked by the server" : "checked as you edit"}
        </span>
      </div>
      <ul className="min-h-0 flex-1 overflow-auto text-xs">
        {problems.length === 0 && (
          <li className="px-3 py-2 text-emerald-700">No problems: this workflow can run.</li>
        )}
        {problems.map((p, i) => (
          <li key={i}>
            <button
              className="flex w-full items-start gap-2 px-3 py-1 text-left hover:bg-slate-50"
              onClick={() => onPick(p)}
              data-testid="problem-item"
            >
              <span
                className={cn(
                  "mt-1 h-2 w-2 shrink-0 rounded-full",
                  p.severity === "error" ? "bg-rose-500" : "bg-amber-400",
                )}
              />
              <span className="flex-1 text-slate-700">{p.message}</span>
              <span className="font-mono text-slate-500">{p.nodeId ?? p.edgeId ?? ""}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
