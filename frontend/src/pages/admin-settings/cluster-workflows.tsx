import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage, unwrap } from "@/shared/api";
import { ErrorState, LoadingState, toast } from "@/shared/ui";

const settingsKey = ["settings", "cluster-workflows"] as const;

/**
 * Whether browser edits of workflows managed in the cluster (kubectl,
 * GitOps) are written back to their resources. Off by default: for those
 * workflows the cluster, often a Git repository, is the source of truth.
 */
export function ClusterWorkflowSettings() {
  const qc = useQueryClient();
  const current = useQuery({
    queryKey: settingsKey,
    queryFn: () => unwrap(api.GET("/api/admin/settings/cluster-workflows")),
  });
  const save = useMutation({
    mutationFn: (writeBack: boolean) =>
      unwrap(api.PUT("/api/admin/settings/cluster-workflows", { body: { writeBack } })),
    meta: { silent: true },
    onSuccess: (data) => {
      qc.setQueryData(settingsKey, data);
      void qc.invalidateQueries({ queryKey: ["workflows"] });
      toast.success(
        data.writeBack
          ? "Browser edits of cluster-managed workflows are now written to the cluster."
          : "Cluster-managed workflows are now read-only in the browser.",
      );
    },
  });

  return (
    <section
      aria-labelledby="cluster-workflows"
      className="mt-6 rounded-lg border border-slate-200 bg-white p-5"
      data-testid="cluster-workflow-settings"
    >
      <h2 id="cluster-workflows" className="font-medium">
        Workflows managed in the cluster
      </h2>
      <p className="mt-1 text-sm text-slate-600">
        Workflows applied with <code className="font-mono text-xs">kubectl</code> or a GitOps tool
        are read-only in the browser: managers can copy them to a workflow managed here. With
        write-back, their edits are applied to the Workflow resource instead. An edit is refused
        when the cluster changed the workflow meanwhile. A GitOps tool may revert edits that are not
        in Git.
      </p>
      {current.isPending ? (
        <LoadingState />
      ) : current.isError ? (
        <ErrorState error={current.error} onRetry={() => current.refetch()} />
      ) : (
        <label className="mt-3 flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            checked={save.isPending ? save.variables : current.data.writeBack}
            disabled={save.isPending}
            onChange={(e) => save.mutate(e.target.checked)}
          />
          Write browser edits back to the cluster
        </label>
      )}
      {save.error && (
        <p role="alert" className="mt-2 text-sm text-rose-700">
          {errorMessage(save.error)}
        </p>
      )}
    </section>
  );
}
