import { useMemo, useState } from "react";
import { Link } from "react-router";
import { useSession } from "@/shared/api";
import { formatDateTime, formatDuration, useCursorPages } from "@/shared/lib";
import {
  CursorPagination,
  EmptyState,
  ErrorState,
  Input,
  LoadingState,
  PageHeader,
  Select,
  Table,
  Td,
  Th,
} from "@/shared/ui";
import { TimeChart } from "@/shared/chart";
import {
  RunStatusBadge,
  STATUS_COLORS,
  asRunStatus,
  runDurationSeries,
  useRuns,
  type RunSummary,
} from "@/entities/run";

const PER_PAGE = 25;

export default function ClientRunsPage() {
  const user = useSession((s) => s.user);
  const [status, setStatus] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const pages = useCursorPages();
  const runs = useRuns(
    {
      status: asRunStatus(status),
      createdAfter: from ? new Date(from).toISOString() : undefined,
      createdBefore: to ? new Date(to).toISOString() : undefined,
      after: pages.after,
      perPage: PER_PAGE,
    },
    { refetchInterval: 10_000 },
  );
  return (
    <>
      <PageHeader title="My results">
        Runs your manager published to you, {user?.displayName}. Each is one run of a workflow your
        manager built for you; open it for its results (tables, text, charts and files you can
        download).
      </PageHeader>
      <div className="mb-3 flex flex-wrap gap-2">
        <Select
          aria-label="Status"
          className="w-40"
          value={status}
          onChange={(e) => {
            setStatus(e.target.value);
            pages.reset();
          }}
        >
          <option value="">Any status</option>
          <option value="succeeded">succeeded</option>
          <option value="failed">failed</option>
          <option value="running">running</option>
          <option value="waiting">waiting</option>
          <option value="cancelled">cancelled</option>
        </Select>
        <Input
          aria-label="From"
          type="date"
          className="w-44"
          value={from}
          onChange={(e) => {
            setFrom(e.target.value);
            pages.reset();
          }}
        />
        <Input
          aria-label="To"
          type="date"
          className="w-44"
          value={to}
          onChange={(e) => {
            setTo(e.target.value);
            pages.reset();
          }}
        />
      </div>
      {runs.isPending ? (
        <LoadingState />
      ) : runs.isError ? (
        <ErrorState error={runs.error} onRetry={() => runs.refetch()} />
      ) : runs.data.items.length === 0 ? (
        <EmptyState
          title={
            status || from || to
              ? "No results match these filters."
              : "No results published to you yet."
          }
        >
          When your manager runs a workflow for you, its results appear here.
        </EmptyState>
      ) : (
        <>
          <RunDurations runs={runs.data.items} />
          <Table>
            <thead>
              <tr>
                <Th>Run</Th>
                <Th>What it is</Th>
                <Th>Date</Th>
                <Th>Status</Th>
                <Th>Duration</Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {runs.data.items.map((r) => (
                <tr key={r.id} data-testid={`client-run-${r.id}`}>
                  <Td>
                    <Link
                      to={`/client/runs/${r.id}`}
                      className="font-medium text-indigo-600 hover:underline"
                    >
                      #{r.id}
                    </Link>
                  </Td>
                  <Td>
                    <span className="font-medium text-slate-800">
                      {r.workflowName || `Workflow #${r.workflowId}`}
                    </span>
                    {r.workflowDescription && (
                      <p className="max-w-md text-xs text-slate-600">{r.workflowDescription}</p>
                    )}
                  </Td>
                  <Td>{formatDateTime(r.createdAt)}</Td>
                  <Td>
                    <RunStatusBadge status={r.status} />
                  </Td>
                  <Td>
                    {r.startedAt && r.finishedAt
                      ? formatDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt))
                      : "—"}
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
          <CursorPagination
            pageIndex={pages.pageIndex}
            perPage={PER_PAGE}
            shown={runs.data.items.length}
            nextCursor={runs.data.nextCursor}
            onNext={pages.next}
            onPrevious={pages.previous}
          />
        </>
      )}
    </>
  );
}

/** Durations of the listed runs over time (shown from two finished runs on). */
function RunDurations({ runs }: { runs: RunSummary[] }) {
  const d = useMemo(() => runDurationSeries(runs), [runs]);
  if (d.x.length < 2) return null;
  return (
    <figure
      className="mb-3 rounded-lg border border-slate-200 bg-white p-3"
      data-testid="run-durations-chart"
    >
      <figcaption className="text-xs font-medium text-slate-600">
        Run durations (this page)
      </figcaption>
      <TimeChart
        label="Run durations"
        x={d.x}
        height={170}
        series={[
          { label: "succeeded", color: STATUS_COLORS.succeeded!, values: d.succeeded },
          { label: "failed or cancelled", color: STATUS_COLORS.failed!, values: d.other },
        ]}
      />
    </figure>
  );
}
