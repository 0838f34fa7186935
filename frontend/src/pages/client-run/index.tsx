import { useState } from "react";
import { Link, useParams } from "react-router";
import { formatDateTime } from "@/shared/lib";
import { ErrorState, LoadingState, PageHeader } from "@/shared/ui";
import { RunStatusBadge, useRun, useRunEvents } from "@/entities/run";
import { RunDetails } from "@/widgets/run-view";

export default function ClientRunPage() {
  const id = Number(useParams().id);
  const run = useRun(id);
  const live = useRunEvents(run.data);
  const [selected, setSelected] = useState<string | null>(null);
  if (run.isPending) return <LoadingState />;
  if (run.isError) return <ErrorState error={run.error} onRetry={() => run.refetch()} />;
  return (
    <>
      <Link to="/client" className="text-sm text-slate-500 hover:text-slate-800">
        ← My results
      </Link>
      <PageHeader title={`Run #${run.data.id}`}>
        Workflow {run.data.workflowId} (revision {run.data.workflowRevision}) ·{" "}
        {formatDateTime(run.data.createdAt)} ·{" "}
        <RunStatusBadge status={live?.status ?? run.data.status} />
      </PageHeader>
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
