import { keepPreviousData, queryOptions, useQuery, type QueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";
import {
  browserTimeZone,
  filtersFromSearch,
  filtersToQuery,
  type AnalyticsQuery,
} from "./model/filters";

export type TaskAnalytics = Schemas["TaskAnalytics"];
export type RunAnalytics = Schemas["RunAnalytics"];

export const analyticsKeys = {
  all: ["analytics"] as const,
  tasks: (q: AnalyticsQuery) => ["analytics", "tasks", q] as const,
  runs: (q: AnalyticsQuery) => ["analytics", "runs", q] as const,
};

export const taskAnalyticsQuery = (q: AnalyticsQuery) =>
  queryOptions({
    queryKey: analyticsKeys.tasks(q),
    queryFn: () => unwrap(api.GET("/api/analytics/tasks", { params: { query: q } })),
  });

export const runAnalyticsQuery = (q: AnalyticsQuery) =>
  queryOptions({
    queryKey: analyticsKeys.runs(q),
    queryFn: () => unwrap(api.GET("/api/analytics/runs", { params: { query: q } })),
  });

export function useTaskAnalytics(q: AnalyticsQuery) {
  return useQuery({ ...taskAnalyticsQuery(q), placeholderData: keepPreviousData });
}

/** `refetchInterval` for viewers without a run event stream (clients). */
export function useRunAnalytics(q: AnalyticsQuery, opts: { refetchInterval?: number } = {}) {
  return useQuery({
    ...runAnalyticsQuery(q),
    placeholderData: keepPreviousData,
    refetchInterval: opts.refetchInterval,
  });
}

/**
 * Starts the dashboard's two requests for the filters in `search` (a page
 * URL's query), as the dashboard will ask for them in the browser's time
 * zone: a route loader calls this so the answers are on their way while the
 * page's code loads, and the dashboard's queries pick them up in flight.
 */
export function prefetchAnalytics(qc: QueryClient, search: URLSearchParams) {
  const f = filtersFromSearch(search);
  const tz = browserTimeZone();
  void qc.prefetchQuery(taskAnalyticsQuery(filtersToQuery(f, tz, "tasks")));
  void qc.prefetchQuery(runAnalyticsQuery(filtersToQuery(f, tz, "runs")));
}
