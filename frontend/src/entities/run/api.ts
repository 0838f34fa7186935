import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, authFetch, toApiError, unwrap, type Schemas } from "@/shared/api";

export type Run = Schemas["Run"];
export type RunSummary = Schemas["RunSummary"];
export type RunNode = Schemas["RunNode"];

export const FINAL_STATUSES = new Set(["succeeded", "failed", "cancelled", "skipped"]);
export const isFinal = (status: string | undefined) => !!status && FINAL_STATUSES.has(status);

/** The statuses the run list filters by (the API refuses others). */
export const RUN_STATUSES = [
  "pending",
  "running",
  "waiting",
  "succeeded",
  "failed",
  "cancelled",
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const asRunStatus = (s: string | null | undefined): RunStatus | undefined =>
  RUN_STATUSES.find((r) => r === s);

export interface RunFilter {
  workflowId?: number;
  clientId?: number;
  startedBy?: number;
  status?: RunStatus;
  createdAfter?: string;
  createdBefore?: string;
  page?: number;
  perPage?: number;
  /** The `nextCursor` of the previous page. */
  after?: string;
}

export const runKeys = {
  all: ["runs"] as const,
  list: (f: RunFilter) => ["runs", "list", f] as const,
  one: (id: number) => ["runs", "one", id] as const,
};

export function useRuns(filter: RunFilter, opts: { refetchInterval?: number } = {}) {
  return useQuery({
    queryKey: runKeys.list(filter),
    queryFn: () => unwrap(api.GET("/api/runs", { params: { query: filter } })),
    placeholderData: keepPreviousData,
    refetchInterval: opts.refetchInterval,
  });
}

export function useRun(id: number | null) {
  return useQuery({
    queryKey: runKeys.one(id ?? 0),
    enabled: id != null,
    queryFn: () => unwrap(api.GET("/api/runs/{id}", { params: { path: { id: id! } } })),
  });
}

/**
 * Starts a run. A test run (`sync`) is not published to the client: it is
 * the manager's check, and they publish it from the run view if it should count.
 */
export function startRun(workflowId: number, mode: "async" | "sync") {
  return unwrap(
    api.POST("/api/workflows/{id}/runs", {
      params: { path: { id: workflowId } },
      body: { mode, published: mode === "async" } as Schemas["StartRun"],
    }),
  ) as Promise<{ id: number; status: string }>;
}

export function cancelRun(id: number) {
  return unwrap(api.POST("/api/runs/{id}/cancel", { params: { path: { id } } }));
}

export function fetchLogs(
  runId: number,
  node: string,
  after?: number,
): Promise<Schemas["LogPage"]> {
  // Without `follow` the answer is always a JSON page (the schema also lists the SSE form).
  return unwrap(
    api.GET("/api/runs/{id}/nodes/{node}/logs", {
      params: { path: { id: runId, node }, query: { after, limit: 1000 } },
    }),
  ) as unknown as Promise<Schemas["LogPage"]>;
}

/** An output's raw response (JSON, file or binary), with the server's error if any. */
export async function fetchOutput(runId: number, node: string, port: string): Promise<Response> {
  const res = await authFetch(
    new Request(
      `/api/runs/${runId}/nodes/${encodeURIComponent(node)}/outputs/${encodeURIComponent(port)}`,
    ),
  );
  if (!res.ok) throw toApiError(res, await res.json().catch(() => undefined));
  return res;
}
