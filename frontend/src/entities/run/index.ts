export {
  FINAL_STATUSES,
  RUN_STATUSES,
  asRunStatus,
  cancelRun,
  fetchLogs,
  fetchOutput,
  isFinal,
  runKeys,
  startRun,
  useRun,
  useRuns,
  type Run,
  type RunFilter,
  type RunStatus,
  type RunNode,
  type RunSummary,
} from "./api";
export {
  applyRunEvent,
  useFollowedRun,
  useRunEvents,
  type LiveLog,
  type LiveNode,
  type LiveRun,
} from "./events";
export { RunStatusBadge, STATUS_COLORS, UNKNOWN_STATUS_COLOR } from "./ui";
export {
  nodeDurationBars,
  runDurationSeries,
  type NodeDurationBars,
  type RunDurationSeries,
} from "./chart-data";
export { nodeStatusLine, skipReasonLabel, type NodeStatusFacts } from "./node-status";
