import { useEffect, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { authFetch } from "@/shared/api";
import { createSseParser, publishLiveHint } from "@/shared/lib";
import { mapCachedTasks, taskKeys } from "./api";

export interface TaskEvent {
  action: string;
  taskId: number;
  key?: string;
  statusId?: number;
  position?: number;
  version?: number;
  by?: number;
}

/**
 * Follows `GET /api/tasks/events` for the signed-in user (one stream per tab)
 * and turns the hints into cache updates: a move is patched into the cached
 * board at once (so another browser's drag shows without a round trip), and
 * then the lists and the task are refetched; a notification refetches the
 * inbox. The events are hints; the refetch is the truth. Reconnects after a
 * second when the stream drops. Returns whether the stream is connected.
 */
export function useTaskEvents(enabled: boolean): boolean {
  const qc = useQueryClient();
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (!enabled) return;
    const ctrl = new AbortController();
    let stopped = false;
    (async () => {
      while (!stopped) {
        try {
          const res = await authFetch(
            new Request("/api/tasks/events", {
              headers: { Accept: "text/event-stream" },
              signal: ctrl.signal,
            }),
          );
          if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
          setConnected(true);
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          const parse = createSseParser();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            for (const m of parse(value)) {
              let data: Record<string, unknown> = {};
              try {
                data = JSON.parse(m.data) as Record<string, unknown>;
              } catch {
                continue;
              }
              if (m.event === "task") {
                applyTaskEvent(qc, data as unknown as TaskEvent);
                publishLiveHint("task", data);
              } else if (m.event === "notification")
                void qc.invalidateQueries({ queryKey: taskKeys.notifications });
            }
          }
        } catch {
          if (ctrl.signal.aborted) return;
        }
        setConnected(false);
        if (!stopped) await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    return () => {
      stopped = true;
      ctrl.abort();
      setConnected(false);
    };
  }, [enabled, qc]);
  return connected;
}

function applyTaskEvent(qc: ReturnType<typeof useQueryClient>, ev: TaskEvent) {
  if (ev.statusId != null && ev.position != null && ev.version != null) {
    mapCachedTasks(qc, (t) =>
      t.id === ev.taskId && t.version < ev.version!
        ? { ...t, statusId: ev.statusId!, position: ev.position!, version: ev.version! }
        : t,
    );
  }
  void qc.invalidateQueries({ queryKey: taskKeys.lists });
  void qc.invalidateQueries({ queryKey: taskKeys.detail(ev.taskId) });
}
