import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useMemo, useRef, useState } from "react";
import { cn, formatDateTime, formatDuration } from "@/shared/lib";
import { EmptyState, ErrorState, LoadingState } from "@/shared/ui";
import { BarChart } from "@/shared/chart";
import {
  fetchLogs,
  isFinal,
  nodeDurationBars,
  nodeStatusLine,
  RunStatusBadge,
  STATUS_COLORS,
  UNKNOWN_STATUS_COLOR,
  type LiveRun,
  type Run,
} from "@/entities/run";
import {
  APPROVAL_TEMPLATE,
  approvalKeys,
  approvalOfNode,
  useRunApprovals,
} from "@/entities/approval";
import { ApprovalPanel } from "@/features/approval-decision";
import { OutputViewer } from "./output-viewer";

type PortTypeOf = (nodeId: string, port: string) => string | undefined;

/** Per-node status, logs, outputs and timeline of one run; used live in the editor and read-only in the portal. */
export function RunDetails({
  run,
  live,
  selected,
  onSelect,
  portType,
  logsVisible = true,
}: {
  run: Run;
  live: LiveRun | null;
  selected: string | null;
  onSelect: (node: string) => void;
  portType?: PortTypeOf;
  logsVisible?: boolean;
}) {
  const [tab, setTab] = useState<"logs" | "outputs" | "timeline">("outputs");
  const tabsId = useId();
  const now = useNow(live != null && !isFinal(live.status));
  // Unless one is picked, show the node the run waits at (an approval asks for someone).
  const node =
    selected ??
    run.nodes.find((n) => (live?.nodes[n.id]?.status ?? n.status) === "waiting")?.id ??
    run.nodes[0]?.id ??
    null;
  const isApproval = (id: string | null) =>
    run.nodes.find((n) => n.id === id)?.template.name === APPROVAL_TEMPLATE;
  // The approvals change when an approval node does (opened, decided, escalated).
  const approvalStates = run.nodes
    .filter((n) => n.template.name === APPROVAL_TEMPLATE)
    .map(
      (n) => `${n.id}:${live?.nodes[n.id]?.status ?? n.status}:${live?.nodes[n.id]?.message ?? ""}`,
    )
    .join("|");
  useRefetchOnChange(approvalKeys.ofRun(run.id), approvalStates);
  return (
    <div className="flex min-h-0 flex-1" data-testid="run-details">
      <ul className="w-64 shrink-0 overflow-auto border-r border-slate-200" aria-label="Run nodes">
        {run.nodes.map((n) => {
          const l = live?.nodes[n.id];
          const status = l?.status ?? n.status;
          const started = l?.startedAt ?? (n.startedAt ? Date.parse(n.startedAt) : undefined);
          const finished = l?.finishedAt ?? (n.finishedAt ? Date.parse(n.finishedAt) : undefined);
          return (
            <li key={n.id}>
              <button
                onClick={() => onSelect(n.id)}
                className={cn(
                  "flex w-full flex-col gap-0.5 px-3 py-1.5 text-left text-xs hover:bg-slate-50",
                  node === n.id && "bg-indigo-50",
                )}
                data-testid={`run-node-${n.id}`}
                data-status={status}
              >
                <span className="flex items-center gap-2">
                  <span
                    className="h-2 w-2 rounded-full"
                    style={{ background: STATUS_COLORS[status] ?? UNKNOWN_STATUS_COLOR }}
                  />
                  <span className="flex-1 truncate font-mono">{n.id}</span>
                  <span className="text-slate-600">{status}</span>
                </span>
                <span className="pl-4 text-[10px] text-slate-600" data-testid="run-node-detail">
                  {nodeStatusLine(
                    {
                      status,
                      attempt: l?.attempt ?? n.attempt,
                      reason: l ? l.reason : n.reason,
                      message: l ? l.message : n.message,
                      startedAt: started,
                      finishedAt: finished,
                      queuePosition: status === n.status ? n.queuePosition : null,
                    },
                    now,
                  )}
                </span>
                {status === "running" && l?.progress != null && (
                  <span className="ml-4 h-1 rounded bg-slate-200">
                    <span
                      className="block h-1 rounded bg-sky-500"
                      style={{ width: `${Math.round(l.progress * 100)}%` }}
                    />
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ul>
      <div className="flex min-w-0 flex-1 flex-col">
        <div className="flex gap-1 border-b border-slate-100 px-2 text-xs" role="tablist">
          {(["outputs", ...(logsVisible ? ["logs"] : []), "timeline"] as const).map((t) => (
            <button
              key={t}
              id={`${tabsId}-${t}`}
              role="tab"
              aria-selected={tab === t}
              aria-controls={`${tabsId}-panel`}
              onClick={() => setTab(t as typeof tab)}
              className={cn(
                "border-b-2 px-2 py-1.5 capitalize",
                tab === t
                  ? "border-indigo-600 font-medium text-indigo-700"
                  : "border-transparent text-slate-500",
              )}
            >
              {t}
            </button>
          ))}
        </div>
        {/* A focusable panel, so its scrolled content can be reached from the keyboard. */}
        <div
          id={`${tabsId}-panel`}
          role="tabpanel"
          aria-labelledby={`${tabsId}-${tab}`}
          tabIndex={0}
          className="min-h-0 flex-1 overflow-auto p-3 focus-visible:-outline-offset-2"
        >
          {tab === "timeline" ? (
            <Timeline run={run} live={live} now={now} />
          ) : !node ? (
            <EmptyState title="This run has no nodes." />
          ) : tab === "logs" ? (
            <Logs run={run} node={node} live={live} />
          ) : (
            <>
              {isApproval(node) && <NodeApproval run={run} node={node} />}
              <Outputs
                run={run}
                node={node}
                status={live?.nodes[node]?.status}
                portType={portType}
              />
            </>
          )}
        </div>
      </div>
    </div>
  );
}

function useNow(ticking: boolean) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [ticking]);
  return ticking ? now : Date.now();
}

/** Reads a query again when `key` changes after the first render. */
function useRefetchOnChange(queryKey: readonly unknown[], key: string) {
  const qc = useQueryClient();
  const last = useRef(key);
  useEffect(() => {
    if (last.current === key) return;
    last.current = key;
    void qc.invalidateQueries({ queryKey });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, qc]);
}

function NodeApproval({ run, node }: { run: Run; node: string }) {
  const approvals = useRunApprovals(run.id);
  if (approvals.isPending) return <LoadingState label="Loading the approval…" />;
  if (approvals.isError)
    return <ErrorState error={approvals.error} onRetry={() => approvals.refetch()} />;
  const approval = approvalOfNode(approvals.data, node);
  if (!approval)
    return (
      <p className="mb-3 text-xs text-slate-600">No approval yet: it opens when {node} starts.</p>
    );
  return (
    <div className="mb-4">
      <ApprovalPanel approval={approval} target={{ runId: run.id, nodeId: node }} />
    </div>
  );
}

function Outputs({
  run,
  node,
  status: liveStatus,
  portType,
}: {
  run: Run;
  node: string;
  /** The node's status from the live stream, newer than the stored run's. */
  status?: string;
  portType?: PortTypeOf;
}) {
  const n = run.nodes.find((x) => x.id === node);
  const status = liveStatus ?? n?.status;
  // Outputs arrive with the node's end; the stored run is read again then.
  if (n && status && !isFinal(status) && !n.executions.some((e) => e.status === "succeeded"))
    return (
      <p className="text-xs text-slate-600">
        No outputs yet: {node} is {status}.
      </p>
    );
  const exec =
    [...(n?.executions ?? [])].reverse().find((e) => e.status === "succeeded") ??
    n?.executions.at(-1);
  const outputs = (exec?.outputs ?? null) as Record<string, unknown> | null;
  if (!n) return null;
  if (!exec) return <p className="text-xs text-slate-500">{node} has not run yet.</p>;
  if (exec.status !== "succeeded" || !outputs) {
    return (
      <p className="text-xs text-slate-600">
        {node} {exec.status}
        {exec.reason ? ` (${exec.reason})` : ""}
        {exec.message ? `: ${exec.message}` : "."}
      </p>
    );
  }
  const ports = Object.keys(outputs);
  if (!ports.length) return <p className="text-xs text-slate-500">No outputs.</p>;
  return (
    <div className="space-y-4">
      {ports.map((p) => (
        <OutputViewer
          key={p}
          runId={run.id}
          node={node}
          port={p}
          type={portType?.(node, p)}
          value={outputs[p]}
        />
      ))}
    </div>
  );
}

function Logs({ run, node, live }: { run: Run; node: string; live: LiveRun | null }) {
  const final = isFinal(live?.status ?? run.status);
  const fetched = useQuery({
    queryKey: ["runs", run.id, "logs", node, final],
    queryFn: () => fetchLogs(run.id, node),
  });
  const lines = useMemo(() => {
    const base = fetched.data?.items ?? [];
    const maxSeq = base.reduce((m, l) => Math.max(m, l.seq), -1);
    const extra = (live?.logs ?? []).filter((l) => l.node === node && l.seq > maxSeq);
    return [...base, ...extra];
  }, [fetched.data, live?.logs, node]);
  if (fetched.isPending && !lines.length) return <LoadingState />;
  if (!lines.length) return <p className="text-xs text-slate-500">No log lines from {node}.</p>;
  return <LogLines lines={lines} testId="run-logs" />;
}

/** Log lines on a dark background, warnings and errors coloured. */
export function LogLines({
  lines,
  testId,
}: {
  lines: { ts: string; level: string; stream: string; message: string }[];
  testId?: string;
}) {
  return (
    <pre
      className="rounded bg-slate-950 p-2 font-mono text-[11px] leading-4 whitespace-pre-wrap text-slate-200"
      data-testid={testId}
    >
      {lines.map((l, i) => (
        <div
          key={i}
          className={cn(
            l.stream === "stderr" || l.level === "error"
              ? "text-rose-300"
              : l.level === "warning"
                ? "text-amber-200"
                : "",
          )}
        >
          <span className="text-slate-400">{new Date(l.ts).toLocaleTimeString()} </span>
          {l.message}
        </div>
      ))}
    </pre>
  );
}

function Timeline({ run, live, now }: { run: Run; live: LiveRun | null; now: number }) {
  const start = run.startedAt ? Date.parse(run.startedAt) : Date.parse(run.createdAt);
  const end = run.finishedAt ? Date.parse(run.finishedAt) : now;
  const span = Math.max(end - start, 1);
  const bars = nodeDurationBars(run, now);
  return (
    <div className="space-y-1 text-xs" data-testid="run-timeline">
      <p className="mb-2 text-slate-500">
        Started {formatDateTime(run.startedAt ?? run.createdAt)} · {formatDuration(end - start)} ·{" "}
        <RunStatusBadge status={live?.status ?? run.status} />
      </p>
      {bars.labels.length > 0 && (
        <figure className="mb-3" data-testid="node-durations-chart">
          <figcaption className="mb-1 font-medium text-slate-600">Time per node</figcaption>
          <BarChart
            label="Time per node"
            labels={bars.labels}
            values={bars.seconds}
            colors={bars.statuses.map((s) => STATUS_COLORS[s] ?? UNKNOWN_STATUS_COLOR)}
            height={bars.labels.length > 8 ? 190 : 150}
          />
        </figure>
      )}
      {run.nodes.map((n) => (
        <div key={n.id} className="flex items-center gap-2">
          <span className="w-32 shrink-0 truncate font-mono">{n.id}</span>
          <div className="relative h-4 flex-1 rounded bg-slate-100">
            {n.executions.map((e) => {
              const s = Date.parse(e.startedAt);
              const f = e.finishedAt ? Date.parse(e.finishedAt) : now;
              return (
                <span
                  key={e.attempt}
                  title={`attempt ${e.attempt}: ${e.status}${e.reason ? ` (${e.reason})` : ""}, ${formatDuration(e.durationMs ?? f - s)}`}
                  className="absolute top-0 h-4 rounded"
                  style={{
                    left: `${((s - start) / span) * 100}%`,
                    width: `${Math.max(((f - s) / span) * 100, 0.8)}%`,
                    background: STATUS_COLORS[e.status] ?? UNKNOWN_STATUS_COLOR,
                  }}
                />
              );
            })}
          </div>
          <span className="w-20 shrink-0 text-right text-slate-500">
            {live?.nodes[n.id]?.status ?? n.status}
          </span>
        </div>
      ))}
    </div>
  );
}
