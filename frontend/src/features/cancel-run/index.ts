export { requestCancel } from "./model/request-cancel";
export { CancelRunButton } from "./ui/cancel-run-button";
