import { useState } from "react";
import { formatDateTime } from "@/shared/lib";
import { Badge, Button, Dialog, LoadingState, toast } from "@/shared/ui";
import { fetchRevision, useRevisions, type Graph } from "@/entities/workflow";
import { newestFirst } from "../model/revisions";

export function RevisionHistoryDialog({
  workflowId,
  current,
  onClose,
  onRestore,
}: {
  workflowId: number;
  current: number;
  onClose: () => void;
  onRestore: (g: Graph, revision: number) => void;
}) {
  const revisions = useRevisions(workflowId, true);
  const [busy, setBusy] = useState<number | null>(null);
  return (
    <Dialog
      open
      onOpenChange={(o) => !o && onClose()}
      title="Revision history"
      description="Every save is kept. Restoring loads a revision into the editor as an undoable change."
    >
      {revisions.isPending ? (
        <LoadingState />
      ) : revisions.isError ? (
        <p className="text-sm text-rose-700">{String(revisions.error.message)}</p>
      ) : (
        <ul className="max-h-96 divide-y divide-slate-100 overflow-auto">
          {newestFirst(revisions.data).map((r) => (
            <li key={r.revision} className="flex items-center gap-3 py-2 text-sm">
              <span className="font-medium">r{r.revision}</span>
              <span className="text-slate-500">{r.nodes} nodes</span>
              <span className="text-xs text-slate-500">{formatDateTime(r.createdAt)}</span>
              {r.revision === current ? (
                <Badge tone="indigo">current</Badge>
              ) : (
                <Button
                  size="sm"
                  className="ml-auto"
                  loading={busy === r.revision}
                  onClick={async () => {
                    setBusy(r.revision);
                    try {
                      const rev = await fetchRevision(workflowId, r.revision);
                      onRestore(rev.graph as unknown as Graph, r.revision);
                    } catch (e) {
                      toast.error(e);
                    } finally {
                      setBusy(null);
                    }
                  }}
                >
                  Restore
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  );
}
