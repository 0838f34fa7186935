export { TaskBoard } from "./task-board";
export { boardKey, type BoardKeyAction, type Cell } from "./board-keys";
export { parseSwimlanes, swimlaneOptions, type Swimlanes } from "./lanes";
