export { TaskDrawer } from "./task-drawer";
