import { useEffect, useMemo } from "react";
import { useSearchParams } from "react-router";
import { useSession } from "@/shared/api";
import { SeriesChart, TimeChart, preloadCharts } from "@/shared/chart";
import { formatDateTime, formatDuration } from "@/shared/lib";
import { ErrorState, Input, LoadingState, Select } from "@/shared/ui";
import {
  PRESETS,
  browserTimeZone,
  filtersFromSearch,
  filtersToQuery,
  filtersToSearch,
  useAnalyticsLive,
  useRunAnalytics,
  useTaskAnalytics,
  type AnalyticsFilters,
  type RunAnalytics,
  type TaskAnalytics,
} from "@/entities/analytics";
import { usePeople } from "@/entities/user";
import { useWorkflows } from "@/entities/workflow";
import { ChartCard, Kpi } from "./card";

/**
 * Okabe–Ito colours: distinguishable with the common colour-vision
 * deficiencies, and every series is also named in a legend and a table.
 */
const C = {
  blue: "#0072B2",
  orange: "#E69F00",
  green: "#009E73",
  vermillion: "#D55E00",
  purple: "#CC79A7",
  sky: "#56B4E9",
  grey: "#6B7280",
};

const RUN_COLORS: Record<string, string> = {
  succeeded: C.green,
  failed: C.vermillion,
  cancelled: C.grey,
  running: C.blue,
  waiting: C.purple,
  pending: C.orange,
};

const PRESET_LABEL: Record<string, string> = {
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  "90d": "Last 90 days",
  "365d": "Last 365 days",
};

export const pct = (v: number | null | undefined) =>
  v == null ? "—" : `${(v * 100).toFixed(v * 100 < 10 && v > 0 ? 1 : 0)} %`;
const hours = (v: number | null | undefined) => (v == null ? "—" : `${v.toFixed(1)} h`);
const ms = (v: number | null | undefined) => formatDuration(v ?? null);

/**
 * The analytics dashboard: filters kept in the URL, headline counters and
 * one card per chart, each with its table and CSV. Numbers refresh when
 * task or run events arrive.
 */
export function AnalyticsDashboard({ title = "Dashboard" }: { title?: string }) {
  const role = useSession((s) => s.user?.role);
  const staff = role === "admin" || role === "manager";
  const [search, setSearch] = useSearchParams();
  const filters = useMemo(() => filtersFromSearch(search), [search]);
  const tz = useMemo(browserTimeZone, []);
  const tasks = useTaskAnalytics(filtersToQuery(filters, tz, "tasks"));
  // Clients have no run event stream: their run numbers refresh every 30 s.
  const runs = useRunAnalytics(filtersToQuery(filters, tz, "runs"), {
    refetchInterval: staff ? undefined : 30_000,
  });
  const live = useAnalyticsLive(staff);
  useEffect(preloadCharts, []);
  // Patches merge into the URL as it is now, not as it was at the last render:
  // the router commits location changes in a transition, so two quick changes
  // would otherwise have the second undo the first.
  const set = (patch: Partial<AnalyticsFilters>) =>
    setSearch(
      filtersToSearch({
        ...filtersFromSearch(new URLSearchParams(window.location.search)),
        ...patch,
      }),
      { replace: true },
    );

  return (
    <section
      aria-label={title}
      aria-busy={tasks.isPending || runs.isPending}
      className="space-y-4"
      data-testid="analytics-dashboard"
    >
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h2 className="text-lg font-semibold text-slate-900">{title}</h2>
        <p className="text-xs text-slate-600" aria-live="polite">
          <span
            className={`mr-1 inline-block h-2 w-2 rounded-full ${live.runsLive || !staff ? "bg-emerald-600" : "bg-slate-400"}`}
            aria-hidden
          />
          Live
          {live.updatedAt && <> · updated {new Date(live.updatedAt).toLocaleTimeString()}</>}
          {tasks.data && <> · {tasks.data.window.tz}</>}
        </p>
      </div>
      <FilterBar filters={filters} onChange={set} staff={staff} />
      {tasks.isPending ? (
        <LoadingState />
      ) : tasks.isError ? (
        <ErrorState error={tasks.error} onRetry={() => tasks.refetch()} />
      ) : (
        <TaskSection a={tasks.data} />
      )}
      {runs.isPending ? (
        <LoadingState />
      ) : runs.isError ? (
        <ErrorState error={runs.error} onRetry={() => runs.refetch()} />
      ) : (
        <RunSection a={runs.data} />
      )}
    </section>
  );
}

function FilterBar({
  filters,
  onChange,
  staff,
}: {
  filters: AnalyticsFilters;
  onChange: (patch: Partial<AnalyticsFilters>) => void;
  staff: boolean;
}) {
  const people = usePeople();
  const workflows = useWorkflows(filters.clientId);
  const clients = people.list.filter((p) => p.role === "client");
  const custom = !!(filters.from && filters.to);
  const today = new Date().toISOString().slice(0, 10);
  return (
    <form
      className="flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-white p-3"
      aria-label="Dashboard filters"
      onSubmit={(e) => e.preventDefault()}
    >
      <label className="text-xs text-slate-700">
        Range
        <Select
          className="w-40"
          value={custom ? "custom" : filters.range}
          onChange={(e) =>
            e.target.value === "custom"
              ? onChange({
                  range: undefined,
                  from: filters.from ?? shiftDay(today, -29),
                  to: filters.to ?? today,
                })
              : onChange({
                  from: undefined,
                  to: undefined,
                  range: e.target.value as AnalyticsFilters["range"],
                })
          }
        >
          {PRESETS.map((p) => (
            <option key={p} value={p}>
              {PRESET_LABEL[p]}
            </option>
          ))}
          <option value="custom">Custom…</option>
        </Select>
      </label>
      {custom && (
        <>
          <label className="text-xs text-slate-700">
            From
            <Input
              type="date"
              className="w-40"
              value={filters.from}
              max={filters.to}
              onChange={(e) => e.target.value && onChange({ from: e.target.value })}
            />
          </label>
          <label className="text-xs text-slate-700">
            To
            <Input
              type="date"
              className="w-40"
              value={filters.to}
              min={filters.from}
              onChange={(e) => e.target.value && onChange({ to: e.target.value })}
            />
          </label>
        </>
      )}
      <label className="text-xs text-slate-700">
        Per
        <Select
          className="w-28"
          value={filters.bucket}
          onChange={(e) => onChange({ bucket: e.target.value as "day" | "week" })}
        >
          <option value="day">Day</option>
          <option value="week">Week</option>
        </Select>
      </label>
      {staff && (
        <>
          <label className="text-xs text-slate-700">
            Client
            <Select
              className="w-44"
              value={filters.clientId ?? ""}
              onChange={(e) =>
                onChange({
                  clientId: Number(e.target.value) || undefined,
                  workflowId: undefined,
                })
              }
            >
              <option value="">All clients</option>
              {clients.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </Select>
          </label>
          <label className="text-xs text-slate-700">
            Assignee
            <Select
              className="w-44"
              value={filters.assigneeId ?? ""}
              onChange={(e) => onChange({ assigneeId: Number(e.target.value) || undefined })}
            >
              <option value="">Anyone</option>
              {people.list.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </Select>
          </label>
          <label className="text-xs text-slate-700">
            Workflow
            <Select
              className="w-44"
              value={filters.workflowId ?? ""}
              onChange={(e) => onChange({ workflowId: Number(e.target.value) || undefined })}
            >
              <option value="">All workflows</option>
              {(workflows.data?.items ?? []).map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </Select>
          </label>
        </>
      )}
    </form>
  );
}

function shiftDay(day: string, by: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + by);
  return d.toISOString().slice(0, 10);
}

function TaskSection({ a }: { a: TaskAnalytics }) {
  const labels = a.window.buckets;
  const t = a.throughput;
  const cycle = a.cycle;
  const sla = a.sla;
  return (
    <div className="space-y-4">
      <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-8">
        <Kpi label="Created" value={t?.createdTotal ?? "—"} testId="kpi-created" />
        <Kpi label="Completed" value={t?.completedTotal ?? "—"} testId="kpi-completed" />
        <Kpi
          label="Completion rate"
          value={pct(t?.completionRate)}
          hint="of tasks created"
          testId="kpi-completion-rate"
        />
        <Kpi label="Open now" value={a.open?.total ?? "—"} testId="kpi-open" />
        <Kpi label="Breached now" value={sla?.openBreached ?? "—"} testId="kpi-breached" />
        <Kpi label="At risk now" value={sla?.openAtRisk ?? "—"} testId="kpi-at-risk" />
        <Kpi
          label="SLA breach rate"
          value={pct(sla?.breachRate)}
          hint={sla ? `${sla.breached} of ${sla.withSla}` : undefined}
          testId="kpi-breach-rate"
        />
        <Kpi label="Cycle time p50" value={hours(cycle?.hours.p50)} testId="kpi-cycle-p50" />
      </dl>
      <div className="grid gap-4 lg:grid-cols-2">
        {t && (
          <ChartCard
            title="Created vs completed"
            slug="tasks-throughput"
            note={`per ${a.window.bucket}, ${a.window.from} – ${a.window.to}`}
            table={{
              header: [a.window.bucket, "created", "completed"],
              rows: labels.map((l, i) => [l, t.created[i] ?? 0, t.completed[i] ?? 0]),
            }}
          >
            <SeriesChart
              label="Tasks created and completed per bucket"
              labels={labels}
              series={[
                { label: "Created", color: C.blue, values: t.created },
                { label: "Completed", color: C.green, values: t.completed, dash: true },
              ]}
            />
          </ChartCard>
        )}
        {a.flow && (
          <ChartCard
            title="Cumulative flow"
            slug="tasks-cumulative-flow"
            note="arrived and done at each bucket's end; the gap is open work"
            table={{
              header: [a.window.bucket, "arrived", "done", "open"],
              rows: labels.map((l, i) => [
                l,
                a.flow!.arrived[i] ?? 0,
                a.flow!.done[i] ?? 0,
                a.flow!.open[i] ?? 0,
              ]),
            }}
          >
            <SeriesChart
              kind="area"
              label="Cumulative flow: tasks arrived and done"
              labels={labels}
              series={[
                { label: "Arrived (open + done)", color: C.sky, values: a.flow.arrived },
                { label: "Done", color: C.green, values: a.flow.done },
              ]}
            />
          </ChartCard>
        )}
        {cycle && (
          <ChartCard
            title="Cycle time"
            slug="tasks-cycle-time"
            note={`creation to completion · p50 ${hours(cycle.hours.p50)} · p85 ${hours(cycle.hours.p85)} · p95 ${hours(cycle.hours.p95)} · ${cycle.hours.count} tasks${cycle.pointsTruncated ? ` (latest ${cycle.points.length} shown)` : ""}`}
            table={{
              header: ["task", "completed at", "hours"],
              rows: cycle.points.map((p) => [p.key, p.completedAt, Number(p.hours.toFixed(2))]),
            }}
          >
            <TimeChart
              label="Cycle time of completed tasks"
              range={[Date.parse(a.window.start) / 1000, Date.parse(a.window.end) / 1000]}
              x={[...cycle.points].reverse().map((p) => Date.parse(p.completedAt) / 1000)}
              series={[
                {
                  label: "Cycle time",
                  color: C.blue,
                  values: [...cycle.points].reverse().map((p) => p.hours * 3600),
                },
              ]}
            />
          </ChartCard>
        )}
        {a.open && (
          <ChartCard
            title="Open by status and priority"
            slug="tasks-open"
            note="now"
            table={{
              header: ["group", "name", "open"],
              rows: [
                ...a.open.byStatus.map((s) => ["status", s.name, s.count]),
                ...a.open.byPriority.map((p) => ["priority", p.priority, p.count]),
              ],
            }}
          >
            <SeriesChart
              kind="bars"
              label="Open tasks by status"
              labels={a.open.byStatus.map((s) => s.name)}
              series={[
                { label: "Open tasks", color: C.blue, values: a.open.byStatus.map((s) => s.count) },
              ]}
              height={140}
            />
            <SeriesChart
              kind="bars"
              label="Open tasks by priority"
              labels={a.open.byPriority.map((p) => p.priority)}
              series={[
                {
                  label: "Open tasks by priority",
                  color: C.orange,
                  values: a.open.byPriority.map((p) => p.count),
                },
              ]}
              height={140}
            />
          </ChartCard>
        )}
        {a.aging && (
          <ChartCard
            title="Aging work in progress"
            slug="tasks-aging"
            note="open tasks by age since creation"
            table={{
              header: ["age", ...(a.aging.bands[0]?.byStatus.map((s) => s.name) ?? []), "total"],
              rows: a.aging.bands.map((b) => [b.band, ...b.byStatus.map((s) => s.count), b.total]),
            }}
          >
            <SeriesChart
              kind="bars"
              label="Open tasks by age"
              labels={a.aging.bands.map((b) => b.band)}
              series={[
                { label: "Open tasks", color: C.purple, values: a.aging.bands.map((b) => b.total) },
              ]}
              height={160}
            />
            {a.aging.oldest.length > 0 && (
              <p className="mt-1 text-xs text-slate-600">
                Oldest:{" "}
                {a.aging.oldest
                  .slice(0, 3)
                  .map((o) => o.key)
                  .join(", ")}
              </p>
            )}
          </ChartCard>
        )}
        {sla && (
          <ChartCard
            title="SLA"
            slug="tasks-sla"
            note="breach rate of tasks created in the range, by priority and client"
            table={{
              header: ["group", "name", "with SLA", "breached", "breach rate"],
              rows: [
                ...sla.byPriority.map((p) => [
                  "priority",
                  p.priority,
                  p.withSla,
                  p.breached,
                  p.breachRate ?? null,
                ]),
                ...sla.byClient.map((c) => [
                  "client",
                  c.name,
                  c.withSla,
                  c.breached,
                  c.breachRate ?? null,
                ]),
              ],
            }}
          >
            <SeriesChart
              kind="bars"
              label="SLA breach rate by priority"
              labels={sla.byPriority.map((p) => p.priority)}
              series={[
                {
                  label: "Breach rate",
                  color: C.vermillion,
                  values: sla.byPriority.map((p) => p.breachRate ?? 0),
                },
              ]}
              format={(v) => `${Math.round(v * 100)} %`}
              yMax={1}
              height={140}
            />
            <h4 className="mt-2 text-xs font-semibold text-slate-700">
              At risk now ({sla.openAtRisk})
            </h4>
            {sla.atRisk.length === 0 ? (
              <p className="text-xs text-slate-600">Nothing at risk.</p>
            ) : (
              <ul
                className="max-h-40 overflow-auto text-xs"
                aria-label="Tasks at risk"
                tabIndex={0}
              >
                {sla.atRisk.map((r) => (
                  <li key={r.taskId} className="flex justify-between gap-2 py-0.5">
                    <span>
                      <b>{r.key}</b> {r.title}
                    </span>
                    <span className="text-slate-600">due {formatDateTime(r.slaDueAt)}</span>
                  </li>
                ))}
              </ul>
            )}
          </ChartCard>
        )}
        {a.people && (
          <ChartCard
            title="Productivity"
            slug="tasks-people"
            note={`completed in the range and open now, per assignee · ${a.people.reassignments} reassignments of ${a.people.reassignedTasks} tasks`}
            table={{
              header: ["assignee", "completed", "open"],
              rows: mergeUsers(a.people.completedByAssignee, a.people.openByAssignee),
            }}
          >
            <SeriesChart
              kind="bars"
              label="Tasks completed per assignee"
              labels={a.people.completedByAssignee.slice(0, 12).map((u) => u.name)}
              series={[
                {
                  label: "Completed",
                  color: C.green,
                  values: a.people.completedByAssignee.slice(0, 12).map((u) => u.count),
                },
              ]}
              height={140}
            />
            <SeriesChart
              kind="bars"
              label="Open tasks per assignee (workload)"
              labels={a.people.openByAssignee.slice(0, 12).map((u) => u.name)}
              series={[
                {
                  label: "Open (workload)",
                  color: C.blue,
                  values: a.people.openByAssignee.slice(0, 12).map((u) => u.count),
                },
              ]}
              height={140}
            />
          </ChartCard>
        )}
        {a.imports && (
          <ChartCard
            title="Imports"
            slug="tasks-imports"
            note="applied imports in the range"
            table={{
              header: ["imports", "rows", "imported", "invalid", "error rate"],
              rows: [
                [
                  a.imports.imports,
                  a.imports.rowsTotal,
                  a.imports.rowsImported,
                  a.imports.rowsInvalid,
                  a.imports.errorRate ?? null,
                ],
              ],
            }}
          >
            <dl className="grid grid-cols-2 gap-2 sm:grid-cols-4">
              <Kpi label="Imports" value={a.imports.imports} testId="kpi-imports" />
              <Kpi
                label="Rows imported"
                value={a.imports.rowsImported}
                testId="kpi-rows-imported"
              />
              <Kpi label="Rows invalid" value={a.imports.rowsInvalid} testId="kpi-rows-invalid" />
              <Kpi label="Error rate" value={pct(a.imports.errorRate)} testId="kpi-import-errors" />
            </dl>
          </ChartCard>
        )}
      </div>
    </div>
  );
}

function mergeUsers(
  completed: { userId: number; name: string; count: number }[],
  open: { userId: number; name: string; count: number }[],
): (string | number)[][] {
  const by = new Map<number, [string, number, number]>();
  for (const u of completed) by.set(u.userId, [u.name, u.count, 0]);
  for (const u of open) {
    const e = by.get(u.userId) ?? [u.name, 0, 0];
    e[2] = u.count;
    by.set(u.userId, e);
  }
  return [...by.values()];
}

function RunSection({ a }: { a: RunAnalytics }) {
  const labels = a.window.buckets;
  const v = a.volume;
  return (
    <div className="space-y-4">
      <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4">
        <Kpi label="Runs" value={v?.total ?? "—"} testId="kpi-runs" />
        <Kpi label="Success rate" value={pct(v?.successRate)} testId="kpi-success-rate" />
        <Kpi
          label="Queue wait p50"
          value={ms(a.queue?.waitMs.p50)}
          hint={a.queue ? `p95 ${ms(a.queue.waitMs.p95)}` : undefined}
          testId="kpi-queue-p50"
        />
        <Kpi label="Pending now" value={a.queue?.pendingNow ?? "—"} testId="kpi-pending" />
      </dl>
      <div className="grid gap-4 lg:grid-cols-2">
        {v && (
          <ChartCard
            title="Runs by status"
            slug="runs-by-status"
            note={`per ${a.window.bucket}`}
            table={{
              header: [a.window.bucket, ...v.byStatus.map((s) => s.status)],
              rows: labels.map((l, i) => [l, ...v.byStatus.map((s) => s.counts[i] ?? 0)]),
            }}
          >
            <SeriesChart
              label="Runs per bucket by status"
              labels={labels}
              series={v.byStatus
                .filter((s) => s.total > 0)
                .map((s) => ({
                  label: s.status,
                  color: RUN_COLORS[s.status] ?? C.grey,
                  values: s.counts,
                  dash: s.status === "failed",
                }))}
            />
          </ChartCard>
        )}
        {a.workflows && (
          <ChartCard
            title="Workflows"
            slug="runs-workflows"
            note="success rate and duration per workflow"
            table={{
              header: [
                "workflow",
                "runs",
                "succeeded",
                "failed",
                "success rate",
                "p50 ms",
                "p95 ms",
              ],
              rows: a.workflows.map((w) => [
                w.name,
                w.runs,
                w.succeeded,
                w.failed,
                w.successRate ?? null,
                w.durationMs.p50 ?? null,
                w.durationMs.p95 ?? null,
              ]),
            }}
          >
            <SeriesChart
              kind="bars"
              label="Success rate per workflow"
              labels={a.workflows.slice(0, 12).map((w) => w.name)}
              series={[
                {
                  label: "Success rate",
                  color: C.green,
                  values: a.workflows.slice(0, 12).map((w) => w.successRate ?? 0),
                },
              ]}
              format={(x) => `${Math.round(x * 100)} %`}
              yMax={1}
              height={150}
            />
          </ChartCard>
        )}
        {a.failures && (
          <ChartCard
            title="Failures by reason"
            slug="runs-failures"
            note="failed node attempts"
            table={{
              header: ["reason", "count"],
              rows: a.failures.map((f) => [f.reason, f.count]),
            }}
          >
            <SeriesChart
              kind="bars"
              label="Failed node attempts by reason"
              labels={a.failures.map((f) => f.reason)}
              series={[
                { label: "Failures", color: C.vermillion, values: a.failures.map((f) => f.count) },
              ]}
              height={150}
            />
          </ChartCard>
        )}
        {a.hours && (
          <ChartCard
            title="Busiest hours"
            slug="runs-hours"
            note="runs created per local hour of day"
            table={{ header: ["hour", "runs"], rows: a.hours.map((n, h) => [h, n]) }}
          >
            <SeriesChart
              kind="bars"
              label="Runs per hour of day"
              labels={a.hours.map((_, h) => String(h).padStart(2, "0"))}
              series={[{ label: "Runs", color: C.blue, values: a.hours }]}
              height={150}
            />
          </ChartCard>
        )}
        {a.nodes && (
          <ChartCard
            title="Nodes"
            slug="runs-nodes"
            note="most failing nodes; durations p50/p95 per node in the table"
            className="lg:col-span-2"
            table={{
              header: [
                "workflow",
                "node",
                "executions",
                "failures",
                "failure rate",
                "p50 ms",
                "p95 ms",
              ],
              rows: a.nodes.byNode.map((n) => [
                n.workflowName,
                n.nodeId,
                n.executions,
                n.failures,
                n.failureRate ?? null,
                n.durationMs.p50 ?? null,
                n.durationMs.p95 ?? null,
              ]),
            }}
          >
            {a.nodes.mostFailing.length === 0 ? (
              <p className="text-xs text-slate-600">No node failed in this range.</p>
            ) : (
              <SeriesChart
                kind="bars"
                label="Most failing nodes"
                labels={a.nodes.mostFailing.map((n) => `${n.workflowName} · ${n.nodeId}`)}
                series={[
                  {
                    label: "Failures",
                    color: C.vermillion,
                    values: a.nodes.mostFailing.map((n) => n.failures),
                  },
                ]}
                height={150}
              />
            )}
          </ChartCard>
        )}
      </div>
    </div>
  );
}
