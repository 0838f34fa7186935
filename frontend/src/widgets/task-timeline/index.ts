export { TaskTimeline } from "./task-timeline";
