import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap } from "@/shared/api";
import { toast } from "@/shared/ui";
import { mapCachedTasks, patchTaskInCache, taskKeys, type Task } from "@/entities/task";

export interface MoveArgs {
  task: Task;
  statusId: number;
  position: number;
}

/**
 * Moves a card (Kanban drop or keyboard shortcut): the board shows the move
 * at once; a refusal (409 stale version, 422 transition not allowed) puts the
 * card back and says why in a toast.
 */
export function useMoveTask() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ task, statusId, position }: MoveArgs) =>
      unwrap(
        api.POST("/api/tasks/{id}/move", {
          params: { path: { id: task.id } },
          body: { version: task.version, statusId, position },
        }),
      ),
    meta: { silent: true },
    onMutate: async ({ task, statusId, position }) => {
      await qc.cancelQueries({ queryKey: taskKeys.lists });
      const before = qc.getQueriesData({ queryKey: taskKeys.lists });
      mapCachedTasks(qc, (t) => (t.id === task.id ? { ...t, statusId, position } : t));
      return { before };
    },
    onError: (error, _args, ctx) => {
      for (const [key, data] of ctx?.before ?? []) qc.setQueryData(key, data);
      if (error instanceof ApiError && error.status === 409)
        toast.info("Someone else changed this card meanwhile; the board now shows their version.");
      else toast.error(error);
    },
    onSuccess: (task) => patchTaskInCache(qc, task),
    onSettled: () => qc.invalidateQueries({ queryKey: taskKeys.lists }),
  });
}
