import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap, type Schemas } from "@/shared/api";
import { toast } from "@/shared/ui";
import { patchTaskInCache, taskKeys, type Task } from "@/entities/task";

export type TaskChanges = Omit<Schemas["PatchTask"], "version">;

/**
 * Saves changed fields of a task against the version it was read at; a stale
 * version (409) reloads the task and says so instead of overwriting.
 */
export function useEditTask() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ task, changes }: { task: Task; changes: TaskChanges }) =>
      unwrap(
        api.PATCH("/api/tasks/{id}", {
          params: { path: { id: task.id } },
          body: { ...changes, version: task.version },
        }),
      ),
    meta: { silent: true },
    onSuccess: (task) => {
      patchTaskInCache(qc, task);
      void qc.invalidateQueries({ queryKey: taskKeys.activity(task.id) });
      void qc.invalidateQueries({ queryKey: taskKeys.lists });
    },
    onError: (error, { task }) => {
      if (error instanceof ApiError && error.status === 409) {
        toast.info("This task was changed by someone else; it is reloaded, please redo your edit.");
        void qc.invalidateQueries({ queryKey: taskKeys.detail(task.id) });
        void qc.invalidateQueries({ queryKey: taskKeys.lists });
      } else toast.error(error);
    },
  });
}

export function useDeleteTask() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => unwrap(api.DELETE("/api/tasks/{id}", { params: { path: { id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: taskKeys.lists }),
  });
}

/** Bulk edit (list view): all or nothing; the server names each refused task. */
export function useBulkEdit() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["BulkRequest"]) => unwrap(api.POST("/api/tasks/bulk", { body })),
    onSettled: () => qc.invalidateQueries({ queryKey: taskKeys.all }),
  });
}

/** Starts or stops the signed-in user watching a task (idempotent on the server). */
export function useSetWatching() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, watch }: { id: number; watch: boolean }) => {
      const params = { params: { path: { id } } };
      return unwrap(
        watch
          ? api.PUT("/api/tasks/{id}/watch", params)
          : api.DELETE("/api/tasks/{id}/watch", params),
      );
    },
    onSuccess: (task) => {
      qc.setQueryData(taskKeys.detail(task.id), task);
      void qc.invalidateQueries({ queryKey: taskKeys.activity(task.id) });
    },
  });
}
