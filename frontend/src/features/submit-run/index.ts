export { BLOCKED_MESSAGE, blocksRun } from "./model/blocking";
export {
  useSubmitRun,
  type RunMode,
  type StartedRun,
  type SubmitRunOptions,
} from "./model/use-submit-run";
export { RunButtons } from "./ui/run-buttons";
