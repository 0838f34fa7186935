import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ApiError } from "@/shared/api";
import { Button, ErrorState, LoadingState, toast } from "@/shared/ui";
import { cn, formatDateTime } from "@/shared/lib";
import {
  AssigneeAvatars,
  priorities,
  priorityLabels,
  PriorityBadge,
  SlaBadge,
  StatusChip,
  useTaskPages,
  useTaskWorkflow,
  type Priority,
  type Task,
  type TaskFilters,
  type TaskSort,
} from "@/entities/task";
import type { Person } from "@/entities/user";
import { useBulkEdit } from "@/features/edit-task";
import { bulkFailures, toggleSelection, type BulkFailure } from "./selection";

const ROW = 44;
const GRID =
  "grid grid-cols-[2.5rem_7rem_minmax(12rem,1fr)_9rem_7rem_8rem_10rem_9rem] items-center";

/** Sortable columns and the server orders they toggle between. */
const SORTS: Record<string, [TaskSort, TaskSort?]> = {
  Key: ["key"],
  Priority: ["priority_desc"],
  Due: ["due_asc", "due_desc"],
  Updated: ["updated_desc"],
  Created: ["created_desc", "created_asc"],
};

/**
 * The list view: a virtualized table (only the rows in view are in the DOM)
 * over pages loaded as it scrolls, sortable by the server, with multi-select
 * (click, Shift+click ranges, select all loaded) and all-or-nothing bulk
 * edit whose per-task refusals are listed above the table.
 */
export function TaskList({
  filters,
  sort,
  onSort,
  people,
  onOpen,
  canBulkEdit,
}: {
  filters: TaskFilters;
  sort: TaskSort;
  onSort: (s: TaskSort) => void;
  people: { list: Person[]; name: (id: number) => string };
  onOpen: (id: number) => void;
  canBulkEdit: boolean;
}) {
  const pages = useTaskPages(filters, sort);
  const workflow = useTaskWorkflow();
  const items = useMemo(() => pages.data?.pages.flatMap((p) => p.items) ?? [], [pages.data]);
  const total = pages.data?.pages[0]?.total ?? 0;
  const order = useMemo(() => items.map((t) => t.id), [items]);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const anchor = useRef<number | null>(null);
  const scroller = useRef<HTMLDivElement>(null);

  // A new filter or order is a new list: the selection does not carry over.
  // (By value: the page rebuilds the filters object when any URL part changes.)
  const listKey = JSON.stringify([filters, sort]);
  useEffect(() => setSelected(new Set()), [listKey]);

  const virtual = useVirtualizer({
    count: items.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 12,
  });
  const rows = virtual.getVirtualItems();
  const last = rows[rows.length - 1]?.index ?? 0;
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = pages;
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && last >= items.length - 50) void fetchNextPage();
  }, [last, items.length, hasNextPage, isFetchingNextPage, fetchNextPage]);

  const statusName = useCallback(
    (id: number) => workflow.data?.statuses.find((s) => s.id === id)?.name ?? `#${id}`,
    [workflow.data],
  );
  const onSelect = useCallback(
    (id: number, range: boolean) => {
      // Read the anchor now: the updater runs later, after it has moved.
      const from = anchor.current;
      setSelected((s) => toggleSelection(s, order, id, from, range));
      anchor.current = id;
    },
    [order],
  );

  if (pages.error || workflow.error)
    return (
      <ErrorState error={pages.error ?? workflow.error} onRetry={() => void pages.refetch()} />
    );
  if (!pages.data || !workflow.data) return <LoadingState label="Loading tasks…" />;

  const allLoadedSelected = items.length > 0 && selected.size === items.length;
  const sortHeader = (label: string) => {
    const options = SORTS[label];
    if (!options) return label;
    const at = options.indexOf(sort);
    const next = at < 0 ? options[0] : (options[(at + 1) % options.length] ?? options[0]);
    return (
      <button
        type="button"
        className="font-semibold hover:text-indigo-700"
        onClick={() => onSort(next)}
      >
        {label}
        {at >= 0 && <span aria-hidden="true">{sort.endsWith("_asc") ? " ↑" : " ↓"}</span>}
      </button>
    );
  };
  const ariaSort = (label: string) => {
    const options = SORTS[label];
    if (!options?.includes(sort)) return undefined;
    return sort.endsWith("_asc") || sort === "key" ? "ascending" : "descending";
  };

  return (
    <div className="flex min-h-0 flex-1 flex-col gap-2" data-testid="task-list">
      {canBulkEdit && selected.size > 0 && (
        <BulkBar
          ids={[...selected]}
          statuses={workflow.data.statuses}
          people={people.list}
          keyOf={(id) => items.find((t) => t.id === id)?.key ?? `#${id}`}
          onDone={() => setSelected(new Set())}
        />
      )}
      <p className="text-xs text-slate-600" aria-live="polite">
        {items.length < total
          ? `${items.length} of ${total} tasks loaded`
          : `${total} ${total === 1 ? "task" : "tasks"}`}
        {selected.size > 0 && ` · ${selected.size} selected`}
      </p>
      <div
        role="table"
        aria-label="Tasks"
        aria-rowcount={total + 1}
        className="flex min-h-0 flex-1 flex-col rounded-lg ring-1 ring-slate-200"
      >
        <div
          role="row"
          className={cn(
            GRID,
            "border-b border-slate-200 bg-slate-50 px-2 py-2 text-xs text-slate-700",
          )}
        >
          <span role="columnheader">
            {canBulkEdit && (
              <input
                type="checkbox"
                aria-label="Select all loaded tasks"
                checked={allLoadedSelected}
                onChange={() => setSelected(allLoadedSelected ? new Set() : new Set(order))}
              />
            )}
          </span>
          {["Key", "Title", "Status", "Priority", "Assignees", "Due", "Updated"].map((h) => (
            <span key={h} role="columnheader" aria-sort={ariaSort(h)} className="font-semibold">
              {sortHeader(h)}
            </span>
          ))}
        </div>
        <div ref={scroller} className="min-h-0 flex-1 overflow-y-auto" data-testid="list-scroller">
          <div role="rowgroup" style={{ height: virtual.getTotalSize(), position: "relative" }}>
            {rows.map((r) => {
              const t = items[r.index]!;
              return (
                <ListRow
                  key={t.id}
                  task={t}
                  top={r.start}
                  index={r.index}
                  selected={selected.has(t.id)}
                  selectable={canBulkEdit}
                  statusName={statusName}
                  name={people.name}
                  onSelect={onSelect}
                  onOpen={onOpen}
                />
              );
            })}
          </div>
        </div>
      </div>
      {isFetchingNextPage && <p className="text-xs text-slate-600">Loading more…</p>}
      {!items.length && <p className="p-6 text-sm text-slate-600">No task matches.</p>}
    </div>
  );
}

const ListRow = memo(function ListRow({
  task,
  top,
  index,
  selected,
  selectable,
  statusName,
  name,
  onSelect,
  onOpen,
}: {
  task: Task;
  top: number;
  index: number;
  selected: boolean;
  selectable: boolean;
  statusName: (id: number) => string;
  name: (id: number) => string;
  onSelect: (id: number, range: boolean) => void;
  onOpen: (id: number) => void;
}) {
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      data-task-id={task.id}
      data-testid="list-row"
      className={cn(
        GRID,
        "absolute inset-x-0 border-b border-slate-100 px-2 text-sm hover:bg-slate-50",
        selected && "bg-indigo-50 hover:bg-indigo-50",
      )}
      style={{ height: ROW, transform: `translateY(${top}px)` }}
    >
      <span role="cell">
        {selectable && (
          <input
            type="checkbox"
            aria-label={`Select ${task.key}`}
            checked={selected}
            onChange={() => undefined}
            onClick={(e) => onSelect(task.id, e.shiftKey)}
          />
        )}
      </span>
      <span role="cell" className="font-mono text-xs text-slate-700">
        {task.key}
      </span>
      <span role="cell" className="truncate pr-2">
        <button
          type="button"
          className="truncate text-left font-medium text-slate-900 hover:text-indigo-700 hover:underline"
          onClick={() => onOpen(task.id)}
        >
          {task.title}
        </button>
      </span>
      <span role="cell">
        <StatusChip name={statusName(task.statusId)} />
      </span>
      <span role="cell">
        <PriorityBadge priority={task.priority} />
      </span>
      <span role="cell">
        <AssigneeAvatars ids={task.assigneeIds} name={name} />
      </span>
      <span role="cell">
        <SlaBadge task={task} dueAt={task.dueAt} />
      </span>
      <span role="cell" className="text-xs text-slate-600">
        {formatDateTime(task.updatedAt)}
      </span>
    </div>
  );
});

const field = "rounded-md border border-slate-300 bg-white px-2 py-1 text-sm";

/** Bulk change of the selected tasks: all or nothing. */
function BulkBar({
  ids,
  statuses,
  people,
  keyOf,
  onDone,
}: {
  ids: number[];
  statuses: { id?: number | null; name: string }[];
  people: Person[];
  keyOf: (id: number) => string;
  onDone: () => void;
}) {
  const bulk = useBulkEdit();
  const [statusId, setStatusId] = useState("");
  const [priority, setPriority] = useState("");
  const [assignee, setAssignee] = useState("");
  const [tags, setTags] = useState("");
  const [failures, setFailures] = useState<BulkFailure[]>([]);
  const changed = statusId || priority || assignee || tags.trim();

  const apply = () => {
    setFailures([]);
    bulk.mutate(
      {
        taskIds: ids,
        set: {
          statusId: statusId ? Number(statusId) : undefined,
          priority: (priority || undefined) as Priority | undefined,
          assigneeIds: assignee === "none" ? [] : assignee ? [Number(assignee)] : undefined,
          tags: tags.trim()
            ? [
                ...new Set(
                  tags
                    .split(",")
                    .map((t) => t.trim())
                    .filter(Boolean),
                ),
              ]
            : undefined,
        },
      },
      {
        onSuccess: (r) => {
          toast.success(`${r.items.length} ${r.items.length === 1 ? "task" : "tasks"} changed.`);
          setStatusId("");
          setPriority("");
          setAssignee("");
          setTags("");
          onDone();
        },
        onError: (e) => {
          const f = e instanceof ApiError ? bulkFailures(e.details) : [];
          if (f.length) setFailures(f);
          else toast.error(e);
        },
      },
    );
  };

  return (
    <div
      className="space-y-2 rounded-lg bg-indigo-50 p-2 ring-1 ring-indigo-200"
      role="region"
      aria-label="Bulk edit"
    >
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <span className="font-medium text-indigo-900">{ids.length} selected:</span>
        <select
          className={field}
          aria-label="Set status"
          value={statusId}
          onChange={(e) => setStatusId(e.target.value)}
        >
          <option value="">Status…</option>
          {statuses.map((s) => (
            <option key={s.id} value={s.id ?? ""}>
              {s.name}
            </option>
          ))}
        </select>
        <select
          className={field}
          aria-label="Set priority"
          value={priority}
          onChange={(e) => setPriority(e.target.value)}
        >
          <option value="">Priority…</option>
          {priorities.map((p) => (
            <option key={p} value={p}>
              {priorityLabels[p]}
            </option>
          ))}
        </select>
        <select
          className={field}
          aria-label="Set assignee"
          value={assignee}
          onChange={(e) => setAssignee(e.target.value)}
        >
          <option value="">Assignee…</option>
          <option value="none">Nobody</option>
          {people.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
        <input
          className={`${field} w-40`}
          aria-label="Set tags"
          placeholder="tags, comma separated"
          value={tags}
          onChange={(e) => setTags(e.target.value)}
        />
        <Button size="sm" variant="primary" disabled={!changed || bulk.isPending} onClick={apply}>
          Apply to {ids.length}
        </Button>
        <Button size="sm" variant="ghost" onClick={onDone}>
          Clear selection
        </Button>
      </div>
      {failures.length > 0 && (
        <div
          role="alert"
          className="rounded-md bg-white p-2 text-sm text-rose-800 ring-1 ring-rose-200"
        >
          <p className="font-medium">Nothing was changed; these tasks cannot be:</p>
          <ul className="list-disc pl-5" data-testid="bulk-failures">
            {failures.map((f) => (
              <li key={f.taskId}>
                <span className="font-mono">{keyOf(f.taskId)}</span>: {f.message}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
