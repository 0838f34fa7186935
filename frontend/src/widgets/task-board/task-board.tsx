import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { ErrorState, LoadingState } from "@/shared/ui";
import { cn } from "@/shared/lib";
import {
  byPosition,
  dropPosition,
  useBoardTasks,
  useTaskWorkflow,
  type Task,
  type TaskFilters,
} from "@/entities/task";
import { useMoveTask } from "@/features/move-task";
import { boardKey } from "./board-keys";
import { splitLanes, type Lane, type Swimlanes } from "./lanes";
import { TaskCard } from "./task-card";

const DRAG_TYPE = "application/x-katalusis-task";

interface DropTarget {
  statusId: number;
  index: number;
  /** The swimlane key (`all` without swimlanes). */
  lane: string;
}

/**
 * The Kanban board: a column per status with its count; cards drag between
 * columns and reorder within one (HTML drag and drop), or move with the
 * keyboard (arrows focus, `m` / Shift+→ next column, Shift+← previous).
 * Moves are optimistic (`useMoveTask`); live events from other browsers
 * arrive through the task event stream the app shell follows.
 */
export function TaskBoard({
  filters,
  name,
  onOpen,
  quickAdd,
  swimlanes = "none",
}: {
  filters: TaskFilters;
  swimlanes?: Swimlanes;
  name: (id: number) => string;
  onOpen: (id: number) => void;
  quickAdd?: (status: { id: number; name: string }) => ReactNode;
}) {
  const workflow = useTaskWorkflow();
  const board = useBoardTasks(filters);
  const move = useMoveTask();
  const [dragId, setDragId] = useState<number | null>(null);
  const [target, setTarget] = useState<DropTarget | null>(null);
  const [focusId, setFocusId] = useState<number | null>(null);
  const root = useRef<HTMLDivElement>(null);

  const statuses = useMemo(
    () =>
      (workflow.data?.statuses ?? []).filter(
        (s): s is typeof s & { id: number } =>
          s.id != null && (!filters.status.length || filters.status.includes(s.id)),
      ),
    [workflow.data, filters.status],
  );
  const columns = useMemo(() => {
    const items = board.data?.items ?? [];
    return statuses.map((s) => byPosition(items.filter((t) => t.statusId === s.id)));
  }, [statuses, board.data]);
  const counts = useMemo(() => {
    const m = new Map<number, number>();
    for (const c of board.data?.statusCounts ?? []) m.set(c.statusId, c.count);
    return m;
  }, [board.data]);

  // Keyboard focus follows a moved card into its new column.
  useEffect(() => {
    if (focusId == null) return;
    root.current?.querySelector<HTMLElement>(`[data-task-id="${focusId}"]`)?.focus();
  }, [focusId, columns]);

  // `shown` is the column as the drop target shows it (a swimlane's part of
  // it); the index counts its slots.
  const moveTo = useCallback(
    (task: Task, statusId: number, index: number, shown?: Task[]) => {
      const col = shown ?? columns[statuses.findIndex((s) => s.id === statusId)] ?? [];
      const position = dropPosition(col, task.id, index);
      if (statusId === task.statusId && position === task.position) return;
      move.mutate({ task, statusId, position });
    },
    [columns, statuses, move],
  );

  const onKeyDown = useCallback(
    (e: React.KeyboardEvent, task: Task) => {
      const col = statuses.findIndex((s) => s.id === task.statusId);
      const row = columns[col]?.findIndex((t) => t.id === task.id) ?? -1;
      if (col < 0 || row < 0) return;
      const action = boardKey(
        e.key,
        e.shiftKey,
        { col, row },
        columns.map((c) => c.length),
      );
      if (!action) return;
      e.preventDefault();
      if (action.kind === "open") onOpen(task.id);
      else if (action.kind === "focus") {
        const next = columns[action.cell.col]?.[action.cell.row];
        if (next) setFocusId(next.id);
        root.current?.querySelector<HTMLElement>(`[data-task-id="${next?.id}"]`)?.focus();
      } else {
        const to = statuses[action.toCol]!;
        setFocusId(task.id);
        moveTo(task, to.id, columns[action.toCol]?.length ?? 0);
      }
    },
    [statuses, columns, onOpen, moveTo],
  );

  const onDragStart = useCallback((e: React.DragEvent, task: Task) => {
    e.dataTransfer.setData(DRAG_TYPE, String(task.id));
    e.dataTransfer.setData("text/plain", task.key);
    e.dataTransfer.effectAllowed = "move";
    setDragId(task.id);
  }, []);
  const onDragEnd = useCallback(() => {
    setDragId(null);
    setTarget(null);
  }, []);

  if (workflow.error || board.error)
    return (
      <ErrorState error={workflow.error ?? board.error} onRetry={() => void board.refetch()} />
    );
  if (!workflow.data || !board.data) return <LoadingState label="Loading the board…" />;

  /** The slot under the pointer: before the first card whose middle is below it. */
  const slotAt = (list: HTMLElement, y: number) => {
    const cards = Array.from(list.querySelectorAll<HTMLElement>("[data-task-id]"));
    const i = cards.findIndex((c) => {
      const r = c.getBoundingClientRect();
      return y < r.top + r.height / 2;
    });
    return i < 0 ? cards.length : i;
  };

  const lanes = splitLanes(board.data.items, swimlanes, name);
  const column = (s: (typeof statuses)[number], ci: number, lane: Lane, laned: boolean) => {
    const cards = laned
      ? byPosition(lane.tasks.filter((t) => t.statusId === s.id))
      : (columns[ci] ?? []);
    const isTarget = target?.statusId === s.id && target.lane === lane.key;
    return (
      <section
        key={s.id}
        aria-label={laned ? `${s.name} column, ${lane.label}` : `${s.name} column`}
        data-status={s.name}
        data-lane={laned ? lane.key : undefined}
        className={cn(
          "flex w-72 shrink-0 flex-col rounded-lg bg-slate-100 p-2",
          isTarget && "ring-2 ring-indigo-400",
        )}
        onDragOver={(e) => {
          if (!e.dataTransfer.types.includes(DRAG_TYPE)) return;
          e.preventDefault();
          e.dataTransfer.dropEffect = "move";
          const list = e.currentTarget.querySelector("ol")!;
          const index = slotAt(list, e.clientY);
          if (!isTarget || target.index !== index)
            setTarget({ statusId: s.id, index, lane: lane.key });
        }}
        onDragLeave={(e) => {
          if (!e.currentTarget.contains(e.relatedTarget as Node)) setTarget(null);
        }}
        onDrop={(e) => {
          e.preventDefault();
          const id = Number(e.dataTransfer.getData(DRAG_TYPE));
          const task = board.data?.items.find((t) => t.id === id);
          const list = e.currentTarget.querySelector("ol")!;
          const index = slotAt(list, e.clientY);
          setTarget(null);
          setDragId(null);
          if (task) moveTo(task, s.id, index, laned ? cards : undefined);
        }}
      >
        <h2 className="flex items-center justify-between px-1 pb-2 text-sm font-semibold text-slate-800">
          <span>{s.name}</span>
          <span
            className="rounded-full bg-white px-2 text-xs font-medium text-slate-700"
            data-testid="column-count"
          >
            {laned ? cards.length : (counts.get(s.id) ?? cards.length)}
          </span>
        </h2>
        <ol className="flex min-h-12 flex-1 flex-col gap-2 overflow-y-auto">
          {cards.map((t, i) => (
            <TaskCard
              key={t.id}
              task={t}
              name={name}
              dragging={dragId === t.id}
              dropMark={
                !isTarget
                  ? undefined
                  : target.index === i
                    ? "before"
                    : target.index >= cards.length && i === cards.length - 1
                      ? "after"
                      : undefined
              }
              onOpen={onOpen}
              onKeyDown={onKeyDown}
              onDragStart={onDragStart}
              onDragEnd={onDragEnd}
            />
          ))}
        </ol>
        {quickAdd && !laned && <div className="pt-2">{quickAdd(s)}</div>}
      </section>
    );
  };

  return (
    <div
      ref={root}
      className={cn(
        "flex min-h-0 flex-1 gap-3 overflow-auto pb-2",
        swimlanes !== "none" && "flex-col",
      )}
      data-testid="task-board"
      data-swimlanes={swimlanes}
    >
      {swimlanes === "none"
        ? statuses.map((s, ci) => column(s, ci, lanes[0]!, false))
        : lanes.map((lane) => (
            <section
              key={lane.key}
              aria-label={`${lane.label} swimlane`}
              data-testid="swimlane"
              className="shrink-0"
            >
              <h2 className="sticky left-0 px-1 pb-1 text-sm font-semibold text-slate-900">
                {lane.label}{" "}
                <span className="text-xs font-normal text-slate-600">({lane.tasks.length})</span>
              </h2>
              <div className="flex gap-3">{statuses.map((s, ci) => column(s, ci, lane, true))}</div>
            </section>
          ))}
      {board.data.total > board.data.items.length && (
        <p className="self-end text-xs text-slate-600">
          Showing the first {board.data.items.length} of {board.data.total} tasks; narrow the
          filters.
        </p>
      )}
    </div>
  );
}
