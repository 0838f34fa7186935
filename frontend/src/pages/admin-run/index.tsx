import { useState } from "react";
import { Link, useParams } from "react-router";
import { formatDateTime } from "@/shared/lib";
import { ErrorState, LoadingState, PageHeader } from "@/shared/ui";
import { RunStatusBadge, useFollowedRun } from "@/entities/run";
import { useUserNames } from "@/entities/user";
import { AiSummary } from "@/features/ai-summary";
import { RunDetails } from "@/widgets/run-view";

/** One run, read-only, with everything (the same viewers as the client portal, logs included). */
export default function AdminRunPage() {
  const id = Number(useParams().id);
  const { run, live } = useFollowedRun(id);
  const users = useUserNames();
  const [selected, setSelected] = useState<string | null>(null);
  if (run.isPending) return <LoadingState />;
  if (run.isError) return <ErrorState error={run.error} onRetry={() => run.refetch()} />;
  const r = run.data;
  return (
    <>
      <Link to="/admin/runs" className="text-sm text-slate-600 hover:text-slate-900">
        ← All runs
      </Link>
      <PageHeader title={`Run #${r.id}: ${r.workflowName || `workflow #${r.workflowId}`}`}>
        Revision {r.workflowRevision} · client {users.name(r.clientId)} · started by{" "}
        {users.name(r.startedBy)} · {formatDateTime(r.createdAt)} ·{" "}
        {r.published ? "published to the client" : "not published"} ·{" "}
        <RunStatusBadge status={live?.status ?? r.status} />
      </PageHeader>
      <AiSummary kind="run" id={r.id} label="Explain this run" className="mb-3" />
      <div className="flex h-[32rem] flex-col overflow-hidden rounded-lg border border-slate-200 bg-white">
        <RunDetails run={r} live={live} selected={selected} onSelect={setSelected} />
      </div>
    </>
  );
}
