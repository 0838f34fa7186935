export { newestFirst, pickForCompare, restoredMessage } from "./model/revisions";
export { RestoreRevision } from "./ui/restore-revision";
