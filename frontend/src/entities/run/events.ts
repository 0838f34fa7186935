import { useEffect, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { authFetch } from "@/shared/api";
import { createSseParser } from "@/shared/lib";
import { isFinal, runKeys, useRun, type Run } from "./api";

export interface LiveNode {
  status: string;
  attempt: number;
  reason?: string | null;
  message?: string | null;
  progress?: number;
  progressMessage?: string | null;
  startedAt?: number;
  finishedAt?: number;
}

export interface LiveLog {
  seq: number;
  node: string;
  attempt: number;
  level: string;
  stream: string;
  message: string;
  ts: string;
}

export interface LiveRun {
  status: string;
  message?: string | null;
  nodes: Record<string, LiveNode>;
  logs: LiveLog[];
  connected: boolean;
}

function fromRun(run: Run): LiveRun {
  const nodes: Record<string, LiveNode> = {};
  for (const n of run.nodes) {
    nodes[n.id] = {
      status: n.status,
      attempt: n.attempt,
      reason: n.reason,
      message: n.message,
      startedAt: n.startedAt ? Date.parse(n.startedAt) : undefined,
      finishedAt: n.finishedAt ? Date.parse(n.finishedAt) : undefined,
    };
  }
  return { status: run.status, message: run.message, nodes, logs: [], connected: false };
}

/** Applies one SSE event to the live view (pure, so it is unit-tested). */
export function applyRunEvent(
  state: LiveRun,
  event: string,
  data: Record<string, unknown>,
  now: number,
): LiveRun {
  switch (event) {
    case "node": {
      const id = String(data.node);
      const prev = state.nodes[id] ?? { status: "pending", attempt: 0 };
      const status = String(data.status);
      const next: LiveNode = {
        ...prev,
        status,
        attempt: Number(data.attempt ?? prev.attempt),
        reason: (data.reason as string | null) ?? null,
        message: (data.message as string | null) ?? null,
        startedAt: status === "running" && prev.status !== "running" ? now : prev.startedAt,
        finishedAt: isFinal(status) ? (prev.finishedAt ?? now) : undefined,
        progress: status === "running" ? prev.progress : undefined,
      };
      return { ...state, nodes: { ...state.nodes, [id]: next } };
    }
    case "progress": {
      const id = String(data.node);
      const prev = state.nodes[id] ?? { status: "running", attempt: 0 };
      return {
        ...state,
        nodes: {
          ...state.nodes,
          [id]: {
            ...prev,
            progress: Number(data.fraction ?? 0),
            progressMessage: (data.message as string) ?? null,
          },
        },
      };
    }
    case "log":
      return {
        ...state,
        logs: [
          ...state.logs.slice(-4999),
          {
            seq: Number(data.seq ?? state.logs.length),
            node: String(data.node ?? ""),
            attempt: Number(data.attempt ?? 0),
            level: String(data.level ?? "info"),
            stream: String(data.stream ?? "log"),
            message: String(data.message ?? ""),
            ts: String(data.ts ?? new Date(now).toISOString()),
          },
        ],
      };
    case "run":
      return {
        ...state,
        status: String(data.status),
        message: (data.message as string | null) ?? state.message,
      };
    default:
      return state;
  }
}

/**
 * Follows a run live over SSE (fetch-based so the bearer token is sent),
 * resuming with Last-Event-ID after a dropped connection until the run ends.
 */
export function useRunEvents(run: Run | undefined): LiveRun | null {
  const [state, setState] = useState<LiveRun | null>(null);
  const runId = run?.id;
  const initial = useRef<Run | undefined>(run);
  initial.current = run;

  useEffect(() => {
    if (runId == null || !initial.current) return;
    let live = fromRun(initial.current);
    setState(live);
    if (isFinal(live.status)) return;
    const ctrl = new AbortController();
    let lastId: string | null = null;
    let stopped = false;
    (async () => {
      while (!stopped && !isFinal(live.status)) {
        try {
          const headers: Record<string, string> = { Accept: "text/event-stream" };
          if (lastId) headers["Last-Event-ID"] = lastId;
          const res = await authFetch(
            new Request(`/api/runs/${runId}/events`, { headers, signal: ctrl.signal }),
          );
          if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
          live = { ...live, connected: true };
          setState(live);
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          const parse = createSseParser();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            const messages = parse(value);
            if (!messages.length) continue;
            for (const m of messages) {
              if (m.id) lastId = m.id;
              let data: Record<string, unknown> = {};
              try {
                data = JSON.parse(m.data) as Record<string, unknown>;
              } catch {
                /* keep empty */
              }
              if (m.event === "log" && m.id) data.seq ??= Number(m.id);
              live = applyRunEvent(live, m.event, data, Date.now());
            }
            setState(live);
          }
        } catch {
          if (ctrl.signal.aborted) return;
        }
        live = { ...live, connected: false };
        setState(live);
        if (!isFinal(live.status)) await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    return () => {
      stopped = true;
      ctrl.abort();
    };
  }, [runId]);

  return state;
}

/**
 * A run and its live view, for the read-only run pages: when the stream
 * says the run ended, the stored run is read again for its outputs.
 */
export function useFollowedRun(id: number) {
  const run = useRun(id);
  const live = useRunEvents(run.data);
  const qc = useQueryClient();
  const ended = isFinal(live?.status) && !isFinal(run.data?.status);
  useEffect(() => {
    if (ended) void qc.invalidateQueries({ queryKey: runKeys.one(id) });
  }, [ended, id, qc]);
  return { run, live };
}
