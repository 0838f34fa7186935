import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/shared/api";
import { toast } from "@/shared/ui";
import { runKeys, type Run } from "@/entities/run";

export interface Visibility {
  published?: boolean;
  logsVisibleToClient?: boolean;
}

/** The toast after a visibility change, one sentence saying what the client now sees. */
export function visibilityMessage(run: Pick<Run, "id" | "published" | "logsVisibleToClient">) {
  if (!run.published) return `Run #${run.id} is hidden from the client.`;
  return run.logsVisibleToClient
    ? `Run #${run.id} is published to the client, with its logs.`
    : `Run #${run.id} is published to the client (logs hidden).`;
}

/** Publishes or hides a run and its logs (`PATCH /api/runs/{id}`); the cached run takes the answer. */
export function useUpdateVisibility(runId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Visibility) =>
      unwrap(api.PATCH("/api/runs/{id}", { params: { path: { id: runId } }, body })),
    onSuccess: (run) => {
      qc.setQueryData(runKeys.one(runId), run);
      void qc.invalidateQueries({ queryKey: ["runs", "list"] });
      toast.success(visibilityMessage(run));
    },
    onError: (e) => toast.error(e),
  });
}
