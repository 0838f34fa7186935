import { errorMessage } from "@/shared/api";
import { Button } from "@/shared/ui";
import { useAiEnabled } from "@/entities/ai";
import { useSummary, type SummaryKind } from "./api";

/**
 * A button that asks the assistant to summarize a task, a run or a
 * client's week, and the answer under it, labelled AI-generated with the
 * sources it was built from. Renders nothing while the assistant is off.
 */
export function AiSummary({
  kind,
  id,
  label,
  className,
}: {
  kind: SummaryKind;
  id: number;
  label: string;
  className?: string;
}) {
  const enabled = useAiEnabled();
  const summary = useSummary();
  if (!enabled) return null;
  return (
    <section aria-label={label} className={className} data-testid={`ai-summary-${kind}`}>
      <Button
        size="sm"
        loading={summary.isPending}
        onClick={() => summary.mutate({ kind, id })}
        className="!text-violet-800 !ring-violet-300"
      >
        {label}
      </Button>
      {summary.isError && (
        <p role="alert" className="mt-2 text-sm text-rose-700">
          {errorMessage(summary.error)}
        </p>
      )}
      {summary.data && (
        <div className="mt-2 rounded-md border border-violet-200 bg-violet-50 p-3 text-sm text-slate-800">
          <div className="mb-1 flex items-center gap-2">
            <span className="rounded bg-violet-700 px-1.5 py-0.5 text-[10px] font-semibold uppercase tracking-wide text-white">
              AI-generated
            </span>
            <span className="text-xs text-slate-600">{summary.data.model}</span>
          </div>
          <p className="whitespace-pre-wrap" data-testid="ai-summary-text">
            {summary.data.text}
          </p>
          {summary.data.sources.length > 0 && (
            <p className="mt-2 text-xs text-slate-600">
              Sources:{" "}
              {summary.data.sources.map((s, i) => (
                <span key={`${s.kind}:${s.id}`}>
                  {i > 0 && ", "}
                  {s.kind} {s.id}
                </span>
              ))}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
