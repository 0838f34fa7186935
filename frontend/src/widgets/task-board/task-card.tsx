import { memo } from "react";
import { cn } from "@/shared/lib";
import { AssigneeAvatars, PriorityBadge, SlaBadge, TagList, type Task } from "@/entities/task";

/** One Kanban card: a focusable, draggable button-like element. */
export const TaskCard = memo(function TaskCard({
  task,
  name,
  dragging,
  dropMark,
  onOpen,
  onKeyDown,
  onDragStart,
  onDragEnd,
}: {
  task: Task;
  name: (id: number) => string;
  dragging: boolean;
  /**
   * Where a dragged card would land, drawn on this card's edge by a
   * pseudo-element: an inserted marker element would shift every card below
   * it and re-lay out the column on each pointer move.
   */
  dropMark?: "before" | "after";
  onOpen: (id: number) => void;
  onKeyDown: (e: React.KeyboardEvent, task: Task) => void;
  onDragStart: (e: React.DragEvent, task: Task) => void;
  onDragEnd: () => void;
}) {
  return (
    <li
      tabIndex={0}
      draggable
      data-task-id={task.id}
      data-testid="task-card"
      aria-label={`${task.key}: ${task.title}`}
      aria-roledescription="card"
      aria-keyshortcuts="Enter m Shift+ArrowRight Shift+ArrowLeft"
      className={cn(
        "cursor-grab list-none space-y-1.5 rounded-md bg-white p-2.5 text-left shadow-sm ring-1 ring-slate-200 outline-none hover:ring-slate-300 focus-visible:ring-2 focus-visible:ring-indigo-500",
        dragging && "opacity-40",
        dropMark &&
          "relative before:pointer-events-none before:absolute before:inset-x-0 before:h-0.5 before:rounded before:bg-indigo-500",
        dropMark === "before" && "before:-top-[5px]",
        dropMark === "after" && "before:-bottom-[5px]",
      )}
      data-drop-mark={dropMark}
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
