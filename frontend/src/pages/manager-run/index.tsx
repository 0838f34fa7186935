import { useState } from "react";
import { Link, useParams } from "react-router";
import { formatDateTime } from "@/shared/lib";
import { ErrorState, LoadingState, PageHeader } from "@/shared/ui";
import { RunStatusBadge, useFollowedRun } from "@/entities/run";
import { PublishControls } from "@/features/publish-run";
import { AiSummary } from "@/features/ai-summary";
import { RunDetails } from "@/widgets/run-view";

/**
 * One run of a manager's client, followed live: where an approval task
 * links to, so an approver sees the whole run and decides from it.
 */
export default function ManagerRunPage() {
  const id = Number(useParams().id);
  const { run, live } = useFollowedRun(id);
  const [selected, setSelected] = useState<string | null>(null);
  if (run.isPending) return <LoadingState />;
  if (run.isError) return <ErrorState error={run.error} onRetry={() => run.refetch()} />;
  const r = run.data;
  return (
    <>
      <Link
        to={`/manager/workflows/${r.workflowId}`}
        className="text-sm text-slate-600 hover:text-slate-900"
      >
        ← Open the workflow in the editor
      </Link>
      <PageHeader title={`Run #${r.id}: ${r.workflowName || `workflow #${r.workflowId}`}`}>
        Revision {r.workflowRevision} · {formatDateTime(r.createdAt)} ·{" "}
        <RunStatusBadge status={live?.status ?? r.status} />
      </PageHeader>
      <AiSummary kind="run" id={r.id} label="Explain this run" className="mb-3" />
      <div className="flex h-[36rem] flex-col overflow-hidden rounded-lg border border-slate-200 bg-white">
        <PublishControls run={r} />
        <RunDetails run={r} live={live} selected={selected} onSelect={setSelected} />
      </div>
    </>
  );
}
