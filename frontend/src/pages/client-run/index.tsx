import { useState } from "react";
import { Link, useParams } from "react-router";
import { formatDateTime } from "@/shared/lib";
import { ErrorState, LoadingState, PageHeader } from "@/shared/ui";
import { RunStatusBadge, useFollowedRun } from "@/entities/run";
import { AiSummary } from "@/features/ai-summary";
import { RunDetails } from "@/widgets/run-view";

export default function ClientRunPage() {
  const id = Number(useParams().id);
  const { run, live } = useFollowedRun(id);
  const [selected, setSelected] = useState<string | null>(null);
  if (run.isPending) return <LoadingState />;
  if (run.isError) return <ErrorState error={run.error} onRetry={() => run.refetch()} />;
  return (
    <>
      <Link to="/client" className="text-sm text-slate-600 hover:text-slate-900">
        ← My results
      </Link>
      <PageHeader title={run.data.workflowName || `Workflow #${run.data.workflowId}`}>
        Run #{run.data.id} · {formatDateTime(run.data.createdAt)} ·{" "}
        <RunStatusBadge status={live?.status ?? run.data.status} />
      </PageHeader>
      <section
        aria-label="About this result"
        className="mb-3 rounded-lg border border-slate-200 bg-white p-3 text-sm text-slate-700"
      >
        {run.data.workflowDescription && (
          <p className="mb-1 font-medium text-slate-800">{run.data.workflowDescription}</p>
        )}
        <p>
          Each step of the workflow is listed on the left; pick one to see what it produced under{" "}
          <em>Outputs</em> (tables, text, charts, files to download)
          {run.data.logsVisibleToClient ? ", what it reported under Logs," : ""} and how long it
          took under <em>Timeline</em>.
        </p>
      </section>
      <AiSummary kind="run" id={run.data.id} label="Explain this run" className="mb-3" />
      <div className="flex h-[32rem] flex-col overflow-hidden rounded-lg border border-slate-200 bg-white">
        <RunDetails
          run={run.data}
          live={live}
          selected={selected}
          onSelect={setSelected}
          logsVisible={run.data.logsVisibleToClient}
        />
      </div>
    </>
  );
}
