export {
  analyticsKeys,
  prefetchAnalytics,
  runAnalyticsQuery,
  taskAnalyticsQuery,
  useRunAnalytics,
  useTaskAnalytics,
  type RunAnalytics,
  type TaskAnalytics,
} from "./api";
export { useAnalyticsLive } from "./live";
export {
  PRESETS,
  browserTimeZone,
  filtersFromSearch,
  filtersToQuery,
  filtersToSearch,
  type AnalyticsFilters,
  type AnalyticsQuery,
  type Bucket,
  type Preset,
} from "./model/filters";
