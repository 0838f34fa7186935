import type { Run, RunSummary } from "./api";

/** Bars of a run's node durations: one bar per node that ran, in the run's node order. */
export type NodeDurationBars = {
  labels: string[];
  /** Seconds spent in all attempts (a running attempt counts up to `now`). */
  seconds: number[];
  statuses: string[];
};

export function nodeDurationBars(run: Run, now: number = Date.now()): NodeDurationBars {
  const out: NodeDurationBars = { labels: [], seconds: [], statuses: [] };
  for (const n of run.nodes) {
    if (!n.executions.length) continue;
    let ms = 0;
    for (const e of n.executions) {
      const start = Date.parse(e.startedAt);
      const end = e.finishedAt ? Date.parse(e.finishedAt) : now;
      ms += e.durationMs ?? Math.max(0, end - start);
    }
    out.labels.push(n.id);
    out.seconds.push(ms / 1000);
    out.statuses.push(n.status);
  }
  return out;
}

/**
 * Finished runs over time for a small chart: x is the start time (unix
 * seconds, ascending, as uPlot wants), y the run's duration in seconds, split
 * into a succeeded and a not-succeeded series (null where the other applies).
 */
export type RunDurationSeries = {
  x: number[];
  succeeded: (number | null)[];
  other: (number | null)[];
  ids: number[];
};

export function runDurationSeries(runs: RunSummary[]): RunDurationSeries {
  const rows = runs
    .filter((r) => r.startedAt && r.finishedAt)
    .map((r) => {
      const start = Date.parse(r.startedAt!);
      return {
        id: r.id,
        x: start / 1000,
        seconds: Math.max(0, Date.parse(r.finishedAt!) - start) / 1000,
        ok: r.status === "succeeded",
      };
    })
    .sort((a, b) => a.x - b.x || a.id - b.id);
  return {
    x: rows.map((r) => r.x),
    succeeded: rows.map((r) => (r.ok ? r.seconds : null)),
    other: rows.map((r) => (r.ok ? null : r.seconds)),
    ids: rows.map((r) => r.id),
  };
}
