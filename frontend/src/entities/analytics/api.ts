import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";
import type { AnalyticsQuery } from "./model/filters";

export type TaskAnalytics = Schemas["TaskAnalytics"];
export type RunAnalytics = Schemas["RunAnalytics"];

export const analyticsKeys = {
  all: ["analytics"] as const,
  tasks: (q: AnalyticsQuery) => ["analytics", "tasks", q] as const,
  runs: (q: AnalyticsQuery) => ["analytics", "runs", q] as const,
};

export function useTaskAnalytics(q: AnalyticsQuery) {
  return useQuery({
    queryKey: analyticsKeys.tasks(q),
    queryFn: () => unwrap(api.GET("/api/analytics/tasks", { params: { query: q } })),
    placeholderData: keepPreviousData,
  });
}

/** `refetchInterval` for viewers without a run event stream (clients). */
export function useRunAnalytics(q: AnalyticsQuery, opts: { refetchInterval?: number } = {}) {
  return useQuery({
    queryKey: analyticsKeys.runs(q),
    queryFn: () => unwrap(api.GET("/api/analytics/runs", { params: { query: q } })),
    placeholderData: keepPreviousData,
    refetchInterval: opts.refetchInterval,
  });
}
