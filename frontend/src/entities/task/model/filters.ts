import type { Priority } from "./types";

/** The board/list/timeline filters, shared between views and kept in the URL. */
export interface TaskFilters {
  status: number[];
  priority: Priority[];
  assigneeId: number | null;
  tag: string;
  clientId: number | null;
  q: string;
  /** Only the tasks this import batch created (`?import=`). */
  importId: number | null;
}

export const emptyFilters: TaskFilters = {
  status: [],
  priority: [],
  assigneeId: null,
  tag: "",
  clientId: null,
  q: "",
  importId: null,
};

const PRIORITIES: Priority[] = ["low", "medium", "high", "critical"];

function ids(v: string | null): number[] {
  return (v ?? "")
    .split(",")
    .map((s) => Number(s))
    .filter((n) => Number.isInteger(n) && n > 0);
}

function id(v: string | null): number | null {
  const n = Number(v);
  return v && Number.isInteger(n) && n > 0 ? n : null;
}

/** Reads the filters from a query string; unknown or malformed values are dropped. */
export function filtersFromSearch(search: URLSearchParams): TaskFilters {
  return {
    status: ids(search.get("status")),
    priority: (search.get("priority") ?? "")
      .split(",")
      .filter((p): p is Priority => PRIORITIES.includes(p as Priority)),
    assigneeId: id(search.get("assignee")),
    tag: search.get("tag")?.trim() ?? "",
    clientId: id(search.get("client")),
    q: search.get("q") ?? "",
    importId: id(search.get("import")),
  };
}

/**
 * Writes the filters into `search` (other parameters such as `view` or `task`
 * are kept); empty filters leave no parameter behind.
 */
export function filtersToSearch(f: TaskFilters, search = new URLSearchParams()): URLSearchParams {
  const next = new URLSearchParams(search);
  const put = (key: string, value: string) => (value ? next.set(key, value) : next.delete(key));
  put("status", f.status.join(","));
  put("priority", f.priority.join(","));
  put("assignee", f.assigneeId ? String(f.assigneeId) : "");
  put("tag", f.tag.trim());
  put("client", f.clientId ? String(f.clientId) : "");
  put("q", f.q);
  put("import", f.importId ? String(f.importId) : "");
  return next;
}

/** The `GET /api/tasks` query parameters for the filters. */
export function filtersToQuery(f: TaskFilters) {
  return {
    status: f.status.length ? f.status.join(",") : undefined,
    priority: f.priority.length ? f.priority.join(",") : undefined,
    assigneeId: f.assigneeId ?? undefined,
    tag: f.tag.trim() || undefined,
    clientId: f.clientId ?? undefined,
    q: f.q.trim() || undefined,
    source: f.importId ? ("import" as const) : undefined,
    sourceRefId: f.importId ?? undefined,
  };
}

export function hasFilters(f: TaskFilters): boolean {
  return (
    f.status.length > 0 ||
    f.priority.length > 0 ||
    !!f.assigneeId ||
    !!f.tag ||
    !!f.clientId ||
    !!f.q ||
    !!f.importId
  );
}
