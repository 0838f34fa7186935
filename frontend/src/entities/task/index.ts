export * from "./model";
export {
  BOARD_LIMIT,
  boardQuery,
  patchTaskInCache,
  taskKeys,
  taskQuery,
  useAllTasks,
  useBoardTasks,
  useNotifications,
  useSaveTaskSettings,
  useTask,
  useTaskActivity,
  useTaskAttachments,
  useTaskComments,
  useTaskSettings,
  useTaskWorkflow,
  type TaskSort,
} from "./api";
export { useTaskEvents, type TaskEvent } from "./events";
export {
  AssigneeAvatars,
  Avatar,
  initials,
  PriorityBadge,
  SlaBadge,
  StatusChip,
  TagList,
} from "./ui";
