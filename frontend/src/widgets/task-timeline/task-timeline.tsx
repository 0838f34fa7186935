import { memo, useMemo, useRef, useState } from "react";
import { useSession } from "@/shared/api";
import { ErrorState, LoadingState } from "@/shared/ui";
import { cn } from "@/shared/lib";
import { useAllTasks, type Task, type TaskFilters } from "@/entities/task";
import { useEditTask } from "@/features/edit-task";
import { barStart, DAY_MS, draggedDue, timelineLayout } from "./layout";

const DAY = 28;
const LANE_LABEL = 160;
const BAR = 26;

const barColors: Record<Task["priority"], string> = {
  critical: "bg-rose-700 text-white",
  high: "bg-orange-700 text-white",
  medium: "bg-sky-700 text-white",
  low: "bg-slate-600 text-white",
};

/**
 * The timeline: dated tasks as bars from creation to due date, one lane per
 * assignee. Staff drag a bar's right end (or focus it and press ←/→) to move
 * the due date by whole days; the bar shows the new date at once, and a
 * refusal (409: changed meanwhile) puts it back with a message.
 */
export function TaskTimeline({
  filters,
  name,
  onOpen,
}: {
  filters: TaskFilters;
  name: (id: number) => string;
  onOpen: (id: number) => void;
}) {
  const role = useSession((s) => s.user?.role);
  const canEdit = role === "admin" || role === "manager";
  const all = useAllTasks(filters, "due_asc");
  const edit = useEditTask();
  // Due dates shown before the server confirms them (and while dragging).
  const [pending, setPending] = useState<Map<number, string>>(new Map());
  const now = useMemo(() => Date.now(), []);
  const layout = useMemo(() => timelineLayout(all.data?.items ?? [], now), [all.data, now]);

  const setDue = (t: Task, due: string) => {
    if (due === t.dueAt) return;
    setPending((p) => new Map(p).set(t.id, due));
    edit.mutate(
      { task: t, changes: { dueAt: due } },
      {
        onSettled: () =>
          setPending((p) => {
            const next = new Map(p);
            next.delete(t.id);
            return next;
          }),
      },
    );
  };

  if (all.error) return <ErrorState error={all.error} onRetry={() => void all.refetch()} />;
  if (!all.data) return <LoadingState label="Loading the timeline…" />;

  const width = layout.days * DAY;
  const todayX = ((Math.floor(now / DAY_MS) * DAY_MS - layout.from) / DAY_MS) * DAY;
  const days = Array.from({ length: layout.days }, (_, i) => new Date(layout.from + i * DAY_MS));

  return (
    <div className="flex min-h-0 flex-1 flex-col gap-2" data-testid="task-timeline">
      <p className="text-xs text-slate-600">
        Bars run from creation to the due date.
        {layout.undated > 0 && ` ${layout.undated} tasks without a due date are not shown.`}
        {all.data.total > all.data.items.length &&
          ` Showing ${all.data.items.length} of ${all.data.total}; narrow the filters.`}
        {canEdit && " Drag a bar's end, or focus it and press ← / →, to change the due date."}
      </p>
      <div className="min-h-0 flex-1 overflow-auto rounded-lg ring-1 ring-slate-200">
        <div style={{ width: width + LANE_LABEL }} className="relative">
          <div
            className="sticky top-0 z-10 flex border-b border-slate-200 bg-white text-[10px] text-slate-600"
            style={{ paddingLeft: LANE_LABEL }}
            aria-hidden="true"
          >
            {days.map((d) => (
              <span
                key={d.getTime()}
                className={cn(
                  "shrink-0 border-l border-slate-100 py-1 text-center",
                  d.getUTCDay() === 1 && "border-slate-300 font-medium text-slate-800",
                )}
                style={{ width: DAY }}
              >
                {d.getUTCDate() === 1 || d.getUTCDay() === 1
                  ? d.toLocaleDateString(undefined, {
                      month: "short",
                      day: "numeric",
                      timeZone: "UTC",
                    })
                  : d.getUTCDate()}
              </span>
            ))}
          </div>
          <div
            aria-hidden="true"
            className="absolute bottom-0 top-0 w-px bg-rose-400"
            style={{ left: LANE_LABEL + todayX }}
          />
          {layout.lanes.map((lane) => (
            <section
              key={lane.assigneeId ?? "none"}
              aria-label={`${lane.assigneeId ? name(lane.assigneeId) : "Unassigned"} lane`}
              className="flex border-b border-slate-100"
            >
              <h3
                className="sticky left-0 z-[5] shrink-0 truncate bg-white px-2 py-2 text-sm font-medium text-slate-800"
                style={{ width: LANE_LABEL }}
              >
                {lane.assigneeId ? name(lane.assigneeId) : "Unassigned"}
              </h3>
              <ol className="relative" style={{ width, height: lane.tasks.length * (BAR + 6) + 6 }}>
                {lane.tasks.map((t, i) => (
                  <TimelineBar
                    key={t.id}
                    task={t}
                    due={pending.get(t.id) ?? t.dueAt!}
                    from={layout.from}
                    top={6 + i * (BAR + 6)}
                    canEdit={canEdit}
                    onOpen={onOpen}
                    onDue={setDue}
                  />
                ))}
              </ol>
            </section>
          ))}
          {!layout.lanes.length && (
            <p className="p-6 text-sm text-slate-600">No task with a due date matches.</p>
          )}
        </div>
      </div>
    </div>
  );
}

const TimelineBar = memo(function TimelineBar({
  task,
  due,
  from,
  top,
  canEdit,
  onOpen,
  onDue,
}: {
  task: Task;
  due: string;
  from: number;
  top: number;
  canEdit: boolean;
  onOpen: (id: number) => void;
  onDue: (t: Task, due: string) => void;
}) {
  const [dx, setDx] = useState(0);
  const drag = useRef<{ x: number } | null>(null);
  const shown = dx ? draggedDue({ ...task, dueAt: due }, dx, DAY) : due;
  const start = Math.max(barStart(task), from);
  const left = ((start - from) / DAY_MS) * DAY;
  const end = ((Date.parse(shown) - from) / DAY_MS) * DAY;
  const width = Math.max(end - left, DAY / 2);
  const label = new Date(shown).toLocaleDateString(undefined, {
    month: "short",
    day: "numeric",
    timeZone: "UTC",
  });
  return (
    <li
      className={cn(
        "absolute flex items-center overflow-visible rounded text-xs shadow-sm",
        barColors[task.priority],
      )}
      style={{ left, top, width, height: BAR }}
      data-task-id={task.id}
      data-testid="timeline-bar"
      data-due={shown}
    >
      <button
        type="button"
        className="min-w-0 flex-1 truncate px-2 text-left"
        onClick={() => onOpen(task.id)}
        title={`${task.key}: ${task.title}, due ${label}`}
      >
        <span className="font-mono">{task.key}</span> {task.title}
      </button>
      <span className="pointer-events-none absolute left-full ml-1 whitespace-nowrap text-[10px] text-slate-800">
        {label}
      </span>
      {canEdit && (
        <span
          role="slider"
          tabIndex={0}
          aria-label={`Due date of ${task.key}`}
          aria-valuetext={label}
          aria-valuenow={Math.round(Date.parse(shown) / DAY_MS)}
          data-testid="bar-end"
          className="h-full w-2 shrink-0 cursor-ew-resize rounded-r bg-black/25 outline-none focus-visible:ring-2 focus-visible:ring-indigo-300"
          onPointerDown={(e) => {
            e.preventDefault();
            e.currentTarget.setPointerCapture(e.pointerId);
            drag.current = { x: e.clientX };
          }}
          onPointerMove={(e) => {
            if (drag.current) setDx(e.clientX - drag.current.x);
          }}
          onPointerUp={(e) => {
            if (!drag.current) return;
            const moved = e.clientX - drag.current.x;
            drag.current = null;
            setDx(0);
            onDue(task, draggedDue({ ...task, dueAt: due }, moved, DAY));
          }}
          onPointerCancel={() => {
            drag.current = null;
            setDx(0);
          }}
          onKeyDown={(e) => {
            const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
            if (!step) return;
            e.preventDefault();
            onDue(task, draggedDue({ ...task, dueAt: due }, step * DAY, DAY));
          }}
        />
      )}
    </li>
  );
});
