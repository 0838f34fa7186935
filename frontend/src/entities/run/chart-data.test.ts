import { describe, expect, it } from "vitest";
import type { Run, RunSummary } from "./api";
import { nodeDurationBars, runDurationSeries } from "./chart-data";

const exec = (startedAt: string, finishedAt: string | null, durationMs: number | null = null) =>
  ({ attempt: 1, startedAt, finishedAt, durationMs, status: "succeeded", outputs: {} }) as never;

describe("chart data", () => {
  it("node durations sum every attempt, count a running one up to now and skip nodes that never ran", () => {
    const run = {
      nodes: [
        {
          id: "a",
          status: "succeeded",
          executions: [exec("2026-01-01T00:00:00Z", "2026-01-01T00:00:02Z", 1500)],
        },
        {
          id: "b",
          status: "succeeded",
          // A failed first attempt without a recorded duration, then a retry.
          executions: [
            exec("2026-01-01T00:00:02Z", "2026-01-01T00:00:03Z"),
            exec("2026-01-01T00:00:04Z", "2026-01-01T00:00:04.250Z", 250),
          ],
        },
        { id: "c", status: "pending", executions: [] },
        { id: "d", status: "running", executions: [exec("2026-01-01T00:00:05Z", null)] },
      ],
    } as unknown as Run;
    const now = Date.parse("2026-01-01T00:00:08Z");
    expect(nodeDurationBars(run, now)).toEqual({
      labels: ["a", "b", "d"],
      seconds: [1.5, 1.25, 3],
      statuses: ["succeeded", "succeeded", "running"],
    });
  });

  it("run durations are sorted by start, split by outcome and leave unfinished runs out", () => {
    const run = (id: number, status: string, startedAt: string | null, finishedAt: string | null) =>
      ({ id, status, startedAt, finishedAt }) as RunSummary;
    const s = runDurationSeries([
      run(3, "failed", "2026-01-01T00:02:00Z", "2026-01-01T00:02:05Z"),
      run(1, "succeeded", "2026-01-01T00:00:00Z", "2026-01-01T00:00:02Z"),
      run(4, "running", "2026-01-01T00:03:00Z", null),
      run(2, "succeeded", "2026-01-01T00:01:00Z", "2026-01-01T00:01:00.500Z"),
    ]);
    const t0 = Date.parse("2026-01-01T00:00:00Z") / 1000;
    expect(s.x).toEqual([t0, t0 + 60, t0 + 120]);
    expect(s.succeeded).toEqual([2, 0.5, null]);
    expect(s.other).toEqual([null, null, 5]);
    expect(s.ids).toEqual([1, 2, 3]);
  });
});
