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
import { BoardColumn, DRAG_TYPE } from "./board-column";

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
  const { mutate: move } = useMoveTask();
  const [dragId, setDragId] = useState<number | null>(null);
  const [focusId, setFocusId] = useState<number | null>(null);
  const root = useRef<HTMLDivElement>(null);
  const geometry = useRef(0);

  // Columns cache their position on screen during a drag; anything scrolling
  // or resizing makes them read it again.
  useEffect(() => {
    const bump = () => geometry.current++;
    document.addEventListener("scroll", bump, { capture: true, passive: true });
    window.addEventListener("resize", bump);
    return () => {
      document.removeEventListener("scroll", bump, { capture: true });
      window.removeEventListener("resize", bump);
    };
  }, []);

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
  const lanes = useMemo(
    () => (board.data ? splitLanes(board.data.items, swimlanes, name) : null),
    [board.data, swimlanes, name],
  );
  const laneColumns = useMemo(
    () =>
      swimlanes === "none" || !lanes
        ? []
        : lanes.map((lane) =>
            statuses.map((s) => byPosition(lane.tasks.filter((t) => t.statusId === s.id))),
          ),
    [lanes, statuses, swimlanes],
  );
  const counts = useMemo(() => {
    const m = new Map<number, number>();
    for (const c of board.data?.statusCounts ?? []) m.set(c.statusId, c.count);
    return m;
  }, [board.data]);

  // `shown` is the column as the drop target shows it (a swimlane's part of
  // it); the index counts its slots.
  const moveTo = useCallback(
    (task: Task, statusId: number, index: number, shown?: Task[]) => {
      const col = shown ?? columns[statuses.findIndex((s) => s.id === statusId)] ?? [];
      const position = dropPosition(col, task.id, index);
      if (statusId === task.statusId && position === task.position) return;
      move({ task, statusId, position });
    },
    [columns, statuses, move],
  );

  // Cards get one stable key handler that reads the latest layout, so a card
  // moving does not re-render every other card.
  const latest = useRef({ statuses, columns, moveTo, onOpen });
  useEffect(() => {
    latest.current = { statuses, columns, moveTo, onOpen };
  });
  const onKeyDown = useCallback((e: React.KeyboardEvent, task: Task) => {
    const { statuses, columns, moveTo, onOpen } = latest.current;
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
  }, []);

  const onDragStart = useCallback((e: React.DragEvent, task: Task) => {
    e.dataTransfer.setData(DRAG_TYPE, String(task.id));
    e.dataTransfer.setData("text/plain", task.key);
    e.dataTransfer.effectAllowed = "move";
    setDragId(task.id);
  }, []);
  const onDragEnd = useCallback(() => setDragId(null), []);
  const items = board.data?.items;
  const onDropCard = useCallback(
    (taskId: number, statusId: number, index: number, shown?: Task[]) => {
      // The source card may leave its column before `dragend` reaches it.
      setDragId(null);
      const task = items?.find((t) => t.id === taskId);
      if (task) latest.current.moveTo(task, statusId, index, shown);
    },
    [items],
  );

  if (workflow.error || board.error)
    return (
      <ErrorState error={workflow.error ?? board.error} onRetry={() => void board.refetch()} />
    );
  if (!workflow.data || !board.data || !lanes) return <LoadingState label="Loading the board…" />;

  const column = (s: (typeof statuses)[number], ci: number, lane: Lane, li: number) => {
    const laned = swimlanes !== "none";
    const cards = laned ? (laneColumns[li]?.[ci] ?? []) : (columns[ci] ?? []);
    return (
      <BoardColumn
        key={s.id}
        status={s}
        laneKey={laned ? lane.key : null}
        laneLabel={lane.label}
        cards={cards}
        count={laned ? cards.length : (counts.get(s.id) ?? cards.length)}
        dragId={dragId}
        focusId={focusId}
        geometry={geometry}
        name={name}
        onOpen={onOpen}
        onKeyDown={onKeyDown}
        onDragStart={onDragStart}
        onDragEnd={onDragEnd}
        onDropCard={onDropCard}
        quickAdd={quickAdd}
      />
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
        ? statuses.map((s, ci) => column(s, ci, lanes[0]!, 0))
        : lanes.map((lane, li) => (
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
              <div className="flex gap-3">{statuses.map((s, ci) => column(s, ci, lane, li))}</div>
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
