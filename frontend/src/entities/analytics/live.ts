import { useEffect, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { authFetch } from "@/shared/api";
import { createSseParser, onLiveHint, publishLiveHint } from "@/shared/lib";
import { analyticsKeys } from "./api";

/** Events arriving within this window cause one refetch, not one each. */
const SETTLE_MS = 400;

/**
 * Keeps the dashboard's numbers live: task hints come from the tab's task
 * stream (`useTaskEvents`, through the live-hint bus); staff also follow
 * the run dashboard stream (`GET /api/events`), which clients may not read.
 * Each burst of events refetches the affected analytics once. Returns when
 * the numbers were last refreshed by an event, and whether runs are live.
 */
export function useAnalyticsLive(followRuns: boolean): {
  updatedAt: number | null;
  runsLive: boolean;
} {
  const qc = useQueryClient();
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [runsLive, setRunsLive] = useState(false);

  useEffect(() => {
    const timers: Partial<Record<"tasks" | "runs", ReturnType<typeof setTimeout>>> = {};
    const refetch = (what: "tasks" | "runs") => {
      if (timers[what]) return;
      timers[what] = setTimeout(() => {
        timers[what] = undefined;
        void qc.invalidateQueries({ queryKey: [...analyticsKeys.all, what] });
        setUpdatedAt(Date.now());
      }, SETTLE_MS);
    };
    const offTask = onLiveHint("task", () => refetch("tasks"));
    // A run can create or finish tasks too; its task events arrive on their own.
    const offRun = onLiveHint("run", () => refetch("runs"));
    return () => {
      offTask();
      offRun();
      for (const t of Object.values(timers)) if (t) clearTimeout(t);
    };
  }, [qc]);

  useEffect(() => {
    if (!followRuns) return;
    const ctrl = new AbortController();
    let stopped = false;
    (async () => {
      while (!stopped) {
        try {
          const res = await authFetch(
            new Request("/api/events", {
              headers: { Accept: "text/event-stream" },
              signal: ctrl.signal,
            }),
          );
          if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
          setRunsLive(true);
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          const parse = createSseParser();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            for (const m of parse(value)) if (m.event === "run") publishLiveHint("run", m.data);
          }
        } catch {
          if (ctrl.signal.aborted) return;
        }
        setRunsLive(false);
        if (!stopped) await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    return () => {
      stopped = true;
      ctrl.abort();
      setRunsLive(false);
    };
  }, [followRuns]);

  return { updatedAt, runsLive };
}
