import {
  keepPreviousData,
  queryOptions,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";
import { filtersToQuery, type TaskFilters } from "./model/filters";
import type { Task, TaskPage } from "./model/types";

export const taskKeys = {
  all: ["tasks"] as const,
  lists: ["tasks", "list"] as const,
  board: (f: TaskFilters) => ["tasks", "list", "board", f] as const,
  table: (f: TaskFilters) => ["tasks", "list", "table", f] as const,
  detail: (id: number) => ["tasks", "detail", id] as const,
  comments: (id: number) => ["tasks", "detail", id, "comments"] as const,
  attachments: (id: number) => ["tasks", "detail", id, "attachments"] as const,
  activity: (id: number) => ["tasks", "detail", id, "activity"] as const,
  workflow: ["task-workflow"] as const,
  settings: ["task-settings"] as const,
  notifications: ["notifications"] as const,
};

/** Statuses in board order, transitions and SLA targets (every role). */
export function useTaskWorkflow() {
  return useQuery({
    queryKey: taskKeys.workflow,
    queryFn: () => unwrap(api.GET("/api/task-statuses")),
    staleTime: 60_000,
  });
}

/** The largest page the API serves. */
export const BOARD_LIMIT = 500;
/** The most cards the board shows; beyond this the filters must narrow it. */
export const BOARD_MAX = 2000;

export function boardQuery(f: TaskFilters) {
  return queryOptions({
    queryKey: taskKeys.board(f),
    // The board shows "first N of total", so it asks for the count the list
    // otherwise leaves out (`count: "exact"`).
    queryFn: async () => {
      const query = { ...filtersToQuery(f), sort: "board" as const, perPage: BOARD_LIMIT };
      // Later pages: the first one brings the total, so they ask for none.
      const page = (n: number) =>
        unwrap(api.GET("/api/tasks", { params: { query: { ...query, page: n, count: "none" } } }));
      // The second page is asked for together with the first (which brings
      // the total): a board of up to 1,000 cards opens in one round trip, and
      // a small board's empty second page costs the server little.
      const second = page(2);
      second.catch(() => {}); // awaited below only when needed
      const first = await unwrap(
        api.GET("/api/tasks", {
          params: { query: { ...query, page: 1, withCounts: true, count: "exact" } },
        }),
      );
      const total = first.total ?? 0;
      const pages = Math.ceil(Math.min(total, BOARD_MAX) / BOARD_LIMIT);
      const rest = await Promise.all(
        Array.from({ length: Math.max(0, pages - 1) }, (_, i) => (i === 0 ? second : page(i + 2))),
      );
      return { ...first, total, items: [first, ...rest].flatMap((p) => p.items) };
    },
    placeholderData: keepPreviousData,
  });
}

export function useBoardTasks(f: TaskFilters) {
  return useQuery(boardQuery(f));
}

/**
 * Every matching task (the list and timeline views), fetched page by page:
 * the first page says how many there are, the rest are requested together.
 */
export type TaskSort =
  | "created_desc"
  | "created_asc"
  | "updated_desc"
  | "due_asc"
  | "due_desc"
  | "priority_desc"
  | "board"
  | "key";

export function useAllTasks(f: TaskFilters, sort: TaskSort) {
  return useQuery({
    queryKey: [...taskKeys.table(f), sort],
    placeholderData: keepPreviousData,
    queryFn: async (): Promise<{ items: Task[]; total: number }> => {
      const query = { ...filtersToQuery(f), sort, perPage: BOARD_LIMIT };
      const first: TaskPage = await unwrap(
        api.GET("/api/tasks", { params: { query: { ...query, page: 1 } } }),
      );
      // Page numbers answer with a total.
      const total = first.total ?? 0;
      const pages = Math.ceil(total / BOARD_LIMIT);
      const rest = await Promise.all(
        Array.from({ length: Math.max(0, pages - 1) }, (_, i) =>
          unwrap(
            api.GET("/api/tasks", {
              params: { query: { ...query, page: i + 2, count: "none" } },
            }),
          ),
        ),
      );
      return { items: [first, ...rest].flatMap((p) => p.items), total };
    },
  });
}

/** Rows per request of the list view (the API's largest page). */
export const LIST_PAGE = BOARD_LIMIT;

/**
 * Where the next page of a list starts. Today the API pages by number; when
 * `GET /api/tasks` answers `nextCursor`, this becomes `{ after: cursor }`
 * and only `nextPageParam` changes.
 */
/** The first page asks for the total the list shows; later pages follow the cursor. */
export type TaskPageParam = { count: "exact" } | { after: string };

/** The parameter of the page after `last`, or undefined at the end. */
export function nextPageParam(last: TaskPage): TaskPageParam | undefined {
  return last.hasMore && last.nextCursor ? { after: last.nextCursor } : undefined;
}

/**
 * The list view's loader: pages arrive as the table scrolls towards the end
 * (`fetchNextPage`), so 10,000 matching tasks cost one request up front.
 */
export function useTaskPages(f: TaskFilters, sort: TaskSort) {
  return useInfiniteQuery({
    queryKey: [...taskKeys.table(f), sort, "pages"],
    initialPageParam: { count: "exact" } as TaskPageParam,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/tasks", {
          params: { query: { ...filtersToQuery(f), sort, perPage: LIST_PAGE, ...pageParam } },
        }),
      ),
    getNextPageParam: (last) => nextPageParam(last),
    placeholderData: keepPreviousData,
  });
}

export function taskQuery(id: number) {
  return queryOptions({
    queryKey: taskKeys.detail(id),
    queryFn: () => unwrap(api.GET("/api/tasks/{id}", { params: { path: { id } } })),
  });
}

export function useTask(id: number | null) {
  return useQuery({ ...taskQuery(id ?? 0), enabled: id != null });
}

export function useTaskComments(id: number) {
  return useQuery({
    queryKey: taskKeys.comments(id),
    queryFn: () => unwrap(api.GET("/api/tasks/{id}/comments", { params: { path: { id } } })),
  });
}

export function useTaskAttachments(id: number) {
  return useQuery({
    queryKey: taskKeys.attachments(id),
    queryFn: () => unwrap(api.GET("/api/tasks/{id}/attachments", { params: { path: { id } } })),
  });
}

export function useTaskActivity(id: number) {
  return useQuery({
    queryKey: taskKeys.activity(id),
    queryFn: () => unwrap(api.GET("/api/tasks/{id}/activity", { params: { path: { id } } })),
  });
}

export function useNotifications() {
  return useQuery({
    queryKey: taskKeys.notifications,
    queryFn: () => unwrap(api.GET("/api/notifications", { params: { query: { limit: 30 } } })),
  });
}

export function useTaskSettings() {
  return useQuery({
    queryKey: taskKeys.settings,
    queryFn: () => unwrap(api.GET("/api/admin/task-settings")),
  });
}

export function useSaveTaskSettings() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["TaskSettings"]) =>
      unwrap(api.PUT("/api/admin/task-settings", { body })),
    onSuccess: (data) => {
      qc.setQueryData(taskKeys.settings, data);
      void qc.invalidateQueries({ queryKey: taskKeys.workflow });
    },
  });
}

type CachedList = { items: Task[] } | { pages: { items: Task[] }[] };

/**
 * Rewrites the tasks of every cached list: board and timeline entries hold
 * one page, the list view's infinite entries hold pages.
 */
export function mapCachedTasks(qc: ReturnType<typeof useQueryClient>, fn: (t: Task) => Task) {
  qc.setQueriesData<CachedList>({ queryKey: taskKeys.lists }, (data) => {
    if (!data) return data;
    if ("pages" in data)
      return { ...data, pages: data.pages.map((p) => ({ ...p, items: p.items.map(fn) })) };
    return { ...data, items: data.items.map(fn) };
  });
}

/** Puts a changed task into every cached list and its detail entry. */
export function patchTaskInCache(qc: ReturnType<typeof useQueryClient>, task: Task) {
  qc.setQueryData(taskKeys.detail(task.id), task);
  mapCachedTasks(qc, (t) => (t.id === task.id ? task : t));
}
