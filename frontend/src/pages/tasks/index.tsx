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
} from "@/entities/task";
import { usePeople } from "@/entities/user";
import { QuickAddTask } from "@/features/create-task";
import { TaskBoard } from "@/widgets/task-board";
import { TaskDrawer } from "@/widgets/task-drawer";
import { FilterBar } from "./filter-bar";

const views = [{ id: "board", label: "Board" }] as const;

/**
 * Tasks for every role (`/admin/tasks`, `/manager/tasks`, `/client/tasks`):
 * the server decides which tasks the caller sees. Filters, the view and the
 * open task (`?task=`) live in the URL, so a link reproduces the screen.
 */
export default function TasksPage() {
  const role = useSession((s) => s.user?.role);
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => filtersFromSearch(params), [params]);
  const view = params.get("view") ?? "board";
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
        <p className="ml-auto text-xs text-slate-600">
          <Kbd>←↑↓→</Kbd> focus · <Kbd>m</Kbd> / <Kbd>Shift+→</Kbd> next column · <Kbd>Shift+←</Kbd>{" "}
          back · <Kbd>Enter</Kbd> open
        </p>
      </div>
      <FilterBar
        filters={filters}
        onChange={setFilters}
        statuses={workflow.data?.statuses ?? []}
        people={people.list}
        clients={role === "client" ? null : people.clients}
      />
      <TaskBoard
        filters={filters}
        name={people.name}
        onOpen={openTask}
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
      <TaskDrawer taskId={openId} onClose={() => openTask(null)} people={people} />
    </div>
  );
}
