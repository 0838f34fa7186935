import { Link, useSearchParams } from "react-router";
import { formatDateTime, formatDuration, useCursorPages } from "@/shared/lib";
import {
  Badge,
  Button,
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
import { RUN_STATUSES, RunStatusBadge, asRunStatus, useRuns } from "@/entities/run";
import { useUserNames } from "@/entities/user";

const PER_PAGE = 25;
const FILTERS = ["workflowId", "clientId", "startedBy", "status", "from", "to"] as const;

const num = (v: string | null) => (v ? Number(v) : undefined);

/** Every run of every manager and client, newest first (admins see everything). */
export default function AdminRunsPage() {
  const [params, setParams] = useSearchParams();
  const get = (k: string) => params.get(k) ?? "";
  const pages = useCursorPages();
  const set = (k: string, v: string) => {
    pages.reset();
    setParams(
      (p) => {
        if (v) p.set(k, v);
        else p.delete(k);
        return p;
      },
      { replace: true },
    );
  };
  const users = useUserNames();
  const runs = useRuns(
    {
      workflowId: num(params.get("workflowId")),
      clientId: num(params.get("clientId")),
      startedBy: num(params.get("startedBy")),
      status: asRunStatus(get("status")),
      createdAfter: get("from") ? new Date(get("from")).toISOString() : undefined,
      createdBefore: get("to") ? new Date(get("to")).toISOString() : undefined,
      after: pages.after,
      perPage: PER_PAGE,
    },
    { refetchInterval: 10_000 },
  );
  const filtered = FILTERS.some((k) => params.get(k));
  return (
    <>
      <PageHeader title="All runs">
        Every run across managers and clients. Open one for its outputs, logs and timeline.
      </PageHeader>
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <Select
          aria-label="Client"
          className="w-44"
          value={get("clientId")}
          onChange={(e) => set("clientId", e.target.value)}
        >
          <option value="">Any client</option>
          {users.clients.map((u) => (
            <option key={u.id} value={u.id}>
              {u.displayName || u.username}
            </option>
          ))}
        </Select>
        <Select
          aria-label="Started by"
          className="w-44"
          value={get("startedBy")}
          onChange={(e) => set("startedBy", e.target.value)}
        >
          <option value="">Started by anyone</option>
          {[...users.managers, ...users.admins].map((u) => (
            <option key={u.id} value={u.id}>
              {u.displayName || u.username}
            </option>
          ))}
        </Select>
        <Select
          aria-label="Status"
          className="w-40"
          value={get("status")}
          onChange={(e) => set("status", e.target.value)}
        >
          <option value="">Any status</option>
          {RUN_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </Select>
        <Input
          aria-label="From"
          type="date"
          className="w-44"
          value={get("from")}
          onChange={(e) => set("from", e.target.value)}
        />
        <Input
          aria-label="To"
          type="date"
          className="w-44"
          value={get("to")}
          onChange={(e) => set("to", e.target.value)}
        />
        {params.get("workflowId") && (
          <Badge tone="indigo">workflow #{params.get("workflowId")}</Badge>
        )}
        {filtered && (
          <Button size="sm" variant="ghost" onClick={() => setParams({}, { replace: true })}>
            Clear filters
          </Button>
        )}
      </div>
      {runs.isPending ? (
        <LoadingState />
      ) : runs.isError ? (
        <ErrorState error={runs.error} onRetry={() => runs.refetch()} />
      ) : runs.data.items.length === 0 ? (
        <EmptyState title={filtered ? "No runs match these filters." : "No runs yet."}>
          {filtered ? (
            "Clear the filters to see every run."
          ) : (
            <>
              Runs appear here when a manager runs a workflow. Create a manager and a client under{" "}
              <Link className="text-indigo-600 underline" to="/admin/users">
                Users
              </Link>
              , assign them under{" "}
              <Link className="text-indigo-600 underline" to="/admin/assignments">
                Assignments
              </Link>
              , or start the server with <code>KATALUSIS_DEMO=true</code> for a populated demo.
            </>
          )}
        </EmptyState>
      ) : (
        <>
          <Table>
            <thead>
              <tr>
                <Th>Run</Th>
                <Th>Workflow</Th>
                <Th>Client</Th>
                <Th>Started by</Th>
                <Th>Date</Th>
                <Th>Status</Th>
                <Th>Client sees it</Th>
                <Th>Duration</Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {runs.data.items.map((r) => (
                <tr key={r.id} data-testid={`admin-run-${r.id}`}>
                  <Td>
                    <Link
                      to={`/admin/runs/${r.id}`}
                      className="font-medium text-indigo-700 hover:underline"
                    >
                      #{r.id}
                    </Link>
                  </Td>
                  <Td>
                    {r.workflowName || `Workflow #${r.workflowId}`}{" "}
                    <span className="text-slate-500">(rev. {r.workflowRevision})</span>
                  </Td>
                  <Td>{users.name(r.clientId)}</Td>
                  <Td>{users.name(r.startedBy)}</Td>
                  <Td>{formatDateTime(r.createdAt)}</Td>
                  <Td>
                    <RunStatusBadge status={r.status} />
                  </Td>
                  <Td>{r.published ? "yes" : "no"}</Td>
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
