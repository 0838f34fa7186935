export { SessionsDialog, describeAgent } from "./ui";
export { useEndUserSessions } from "./api";
