import { memo } from "react";
import { cn } from "@/shared/lib";
import { AssigneeAvatars, PriorityBadge, SlaBadge, TagList, type Task } from "@/entities/task";

/**
 * One Kanban card: a focusable, draggable button-like element, placed by its
 * column's virtualizer (`start` px from the top of the list; `measure`
 * reports its real height). Memoized: a board re-render (a drag starting, a
 * card moving) only re-renders the cards whose props changed.
 */
export const TaskCard = memo(function TaskCard({
  task,
  index,
  start,
  measure,
  name,
  dragging,
  onOpen,
  onKeyDown,
  onDragStart,
  onDragEnd,
}: {
  task: Task;
  index: number;
  start: number;
  measure: (el: HTMLElement | null) => void;
  name: (id: number) => string;
  dragging: boolean;
  onOpen: (id: number) => void;
  onKeyDown: (e: React.KeyboardEvent, task: Task) => void;
  onDragStart: (e: React.DragEvent, task: Task) => void;
  onDragEnd: () => void;
}) {
  return (
    <li
      ref={measure}
      tabIndex={0}
      draggable
      data-index={index}
      data-task-id={task.id}
      data-testid="task-card"
      aria-label={`${task.key}: ${task.title}`}
      aria-roledescription="card"
      aria-keyshortcuts="Enter m Shift+ArrowRight Shift+ArrowLeft"
      className={cn(
        "absolute inset-x-0 top-0 cursor-grab list-none space-y-1.5 rounded-md bg-white p-2.5 text-left shadow-sm ring-1 ring-slate-200 outline-none hover:ring-slate-300 focus-visible:ring-2 focus-visible:ring-indigo-500",
        dragging && "opacity-40",
      )}
      style={{ transform: `translateY(${start}px)` }}
      onClick={() => onOpen(task.id)}
      onKeyDown={(e) => onKeyDown(e, task)}
      onDragStart={(e) => onDragStart(e, task)}
      onDragEnd={onDragEnd}
    >
      <div className="flex items-center justify-between gap-2">
        <span className="font-mono text-[11px] text-slate-600">{task.key}</span>
        <PriorityBadge priority={task.priority} />
      </div>
      <p className="text-sm font-medium leading-snug text-slate-900">{task.title}</p>
      <TagList tags={task.tags} />
      <div className="flex items-center justify-between gap-2">
        <SlaBadge task={task} dueAt={task.dueAt} />
        <AssigneeAvatars ids={task.assigneeIds} name={name} />
      </div>
    </li>
  );
});
