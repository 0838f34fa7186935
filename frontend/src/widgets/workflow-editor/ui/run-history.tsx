import { useMemo } from "react";
import { cn, formatDateTime } from "@/shared/lib";
import { Button, LoadingState } from "@/shared/ui";
import { TimeChart } from "@/shared/chart";
import { RunStatusBadge, STATUS_COLORS, runDurationSeries, useRuns } from "@/entities/run";

/** The "Runs" tab: this workflow's runs, newest first, with their durations over time. */
export function RunHistory({
  workflowId,
  activeRunId,
  onOpen,
  onRerun,
}: {
  workflowId: number;
  activeRunId: number | null;
  onOpen: (id: number) => void;
  onRerun: () => void;
}) {
  const runs = useRuns({ workflowId, perPage: 50 }, { refetchInterval: 5000 });
  const durations = useMemo(() => runDurationSeries(runs.data?.items ?? []), [runs.data]);
  return (
    <section className="flex h-72 shrink-0 flex-col bg-white" aria-label="Runs of this workflow">
      <div className="flex items-center justify-between border-b border-slate-100 px-3 py-1.5 text-xs">
        <span className="font-semibold text-slate-700">Run history</span>
        <Button size="sm" onClick={onRerun}>
          Re-run latest revision
        </Button>
      </div>
      <div className="flex min-h-0 flex-1">
        <ul className="min-h-0 flex-1 divide-y divide-slate-100 overflow-auto text-xs">
          {runs.isPending && <LoadingState />}
          {runs.data?.items.length === 0 && (
            <li className="px-3 py-2 text-slate-500">No runs yet.</li>
          )}
          {runs.data?.items.map((r) => (
            <li key={r.id}>
              <button
                onClick={() => onOpen(r.id)}
                className={cn(
                  "flex w-full items-center gap-3 px-3 py-1.5 text-left hover:bg-slate-50",
                  r.id === activeRunId && "bg-indigo-50",
                )}
              >
                <span className="font-mono">#{r.id}</span>
                <RunStatusBadge status={r.status} />
                <span className="text-slate-500">revision {r.workflowRevision}</span>
                <span className="text-slate-500">{formatDateTime(r.createdAt)}</span>
                {r.published && <span className="text-emerald-600">published</span>}
                <span className="ml-auto text-slate-500">{r.message}</span>
              </button>
            </li>
          ))}
        </ul>
        {durations.x.length > 1 && (
          <figure
            className="hidden w-96 shrink-0 border-l border-slate-100 p-2 lg:block"
            data-testid="run-durations-chart"
          >
            <figcaption className="text-xs font-medium text-slate-600">Run durations</figcaption>
            <TimeChart
              label="Run durations"
              x={durations.x}
              height={170}
              series={[
                {
                  label: "succeeded",
                  color: STATUS_COLORS.succeeded!,
                  values: durations.succeeded,
                },
                {
                  label: "failed or cancelled",
                  color: STATUS_COLORS.failed!,
                  values: durations.other,
                },
              ]}
            />
          </figure>
        )}
      </div>
    </section>
  );
}
