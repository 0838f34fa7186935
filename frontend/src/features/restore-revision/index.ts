export { newestFirst, restoredMessage } from "./model/revisions";
export { RestoreRevision } from "./ui/restore-revision";
