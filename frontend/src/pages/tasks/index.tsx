import { useCallback, useMemo } from "react";
import { Link, useSearchParams } from "react-router";
import { useSession } from "@/shared/api";
import { Kbd } from "@/shared/ui";
import { cn } from "@/shared/lib";
import {
  filtersFromSearch,
  filtersToSearch,
  useTaskWorkflow,
  type TaskFilters,
  type TaskSort,
} from "@/entities/task";
import { usePeople } from "@/entities/user";
import { QuickAddTask } from "@/features/create-task";
import { parseSwimlanes, swimlaneOptions, TaskBoard } from "@/widgets/task-board";
import { TaskList } from "@/widgets/task-list";
import { TaskTimeline } from "@/widgets/task-timeline";
import { TaskDrawer } from "@/widgets/task-drawer";
import { FilterBar } from "./filter-bar";

const views = [
  { id: "board", label: "Board" },
  { id: "list", label: "List" },
  { id: "timeline", label: "Timeline" },
] as const;
type View = (typeof views)[number]["id"];

const SORTS: TaskSort[] = [
  "created_desc",
  "created_asc",
  "updated_desc",
  "due_asc",
  "due_desc",
  "priority_desc",
  "key",
];

/**
 * Tasks for every role (`/admin/tasks`, `/manager/tasks`, `/client/tasks`):
 * the server decides which tasks the caller sees. Board, list and timeline
 * share the filters; filters, the view (`?view=`), swimlanes (`?lanes=`),
 * the list order (`?sort=`) and the open task (`?task=`) live in the URL, so
 * a link reproduces the screen.
 */
export default function TasksPage() {
  const role = useSession((s) => s.user?.role);
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => filtersFromSearch(params), [params]);
  const view: View = views.find((v) => v.id === params.get("view"))?.id ?? "board";
  const swimlanes = parseSwimlanes(params.get("lanes"));
  const sort = SORTS.find((x) => x === params.get("sort")) ?? "updated_desc";
  const setParam = useCallback(
    (key: string, value: string | null) =>
      setParams(
        (p) => {
          const next = new URLSearchParams(p);
          if (value) next.set(key, value);
          else next.delete(key);
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );
  const openId = Number(params.get("task")) || null;
  const people = usePeople();
  const workflow = useTaskWorkflow();

  const setFilters = useCallback(
    (f: TaskFilters) => setParams((p) => filtersToSearch(f, p), { replace: true }),
    [setParams],
  );
  const openTask = useCallback(
    (id: number | null) =>
      setParams((p) => {
        const next = new URLSearchParams(p);
        if (id) next.set("task", String(id));
        else next.delete("task");
        return next;
      }),
    [setParams],
  );
  const canCreate = role === "admin" || role === "manager";

  return (
    <div className="flex h-[calc(100vh-7.5rem)] flex-col gap-4">
      <div className="flex flex-wrap items-center gap-4">
        <h1 className="text-xl font-semibold text-slate-900">
          {role === "client" ? "My tasks" : "Tasks"}
        </h1>
        <nav aria-label="Task views" className="flex gap-1">
          {views.map((v) => (
            <button
              key={v.id}
              type="button"
              aria-current={view === v.id ? "page" : undefined}
              className={cn(
                "rounded-md px-2.5 py-1 text-sm font-medium",
                view === v.id
                  ? "bg-indigo-50 text-indigo-800"
                  : "text-slate-700 hover:bg-slate-100",
              )}
              onClick={() =>
                setParams((p) => {
                  const next = new URLSearchParams(p);
                  next.set("view", v.id);
                  return next;
                })
              }
              data-view={v.id}
            >
              {v.label}
            </button>
          ))}
        </nav>
        {canCreate && (
          <Link
            to="import"
            relative="path"
            className="rounded-md bg-white px-2.5 py-1 text-sm font-medium text-indigo-700 ring-1 ring-inset ring-slate-300 hover:bg-slate-50"
          >
            Import CSV / Excel
          </Link>
        )}
        {filters.importId && (
          <button
            type="button"
            className="rounded-full bg-amber-50 px-2.5 py-1 text-xs font-medium text-amber-900 ring-1 ring-amber-300"
            onClick={() => setFilters({ ...filters, importId: null })}
          >
            Import #{filters.importId} ✕
          </button>
        )}
        {view === "board" && (
          <label className="flex items-center gap-1 text-sm text-slate-700">
            Swimlanes
            <select
              className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm"
              value={swimlanes}
              onChange={(e) => setParam("lanes", e.target.value === "none" ? null : e.target.value)}
            >
              {swimlaneOptions.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
        )}
        {view === "board" && (
          <p className="ml-auto text-xs text-slate-600">
            <Kbd>←↑↓→</Kbd> focus · <Kbd>m</Kbd> / <Kbd>Shift+→</Kbd> next column ·{" "}
            <Kbd>Shift+←</Kbd> back · <Kbd>Enter</Kbd> open
          </p>
        )}
      </div>
      <FilterBar
        filters={filters}
        onChange={setFilters}
        statuses={workflow.data?.statuses ?? []}
        people={people.list}
        clients={role === "client" ? null : people.clients}
      />
      {view === "board" && (
        <TaskBoard
          filters={filters}
          name={people.name}
          onOpen={openTask}
          swimlanes={swimlanes}
          quickAdd={
            canCreate
              ? (s) => (
                  <QuickAddTask
                    statusId={s.id}
                    statusName={s.name}
                    clients={people.clients}
                    clientId={filters.clientId}
                  />
                )
              : undefined
          }
        />
      )}
      {view === "list" && (
        <TaskList
          filters={filters}
          sort={sort}
          onSort={(s) => setParam("sort", s)}
          people={people}
          onOpen={openTask}
          canBulkEdit={canCreate}
        />
      )}
      {view === "timeline" && (
        <TaskTimeline filters={filters} name={people.name} onOpen={openTask} />
      )}
      <TaskDrawer taskId={openId} onClose={() => openTask(null)} people={people} />
    </div>
  );
}
