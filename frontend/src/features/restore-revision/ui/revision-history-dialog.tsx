import { useState } from "react";
import { formatDateTime } from "@/shared/lib";
import { Badge, Button, Dialog, LoadingState, toast } from "@/shared/ui";
import { fetchRevision, useRevisions, type Graph } from "@/entities/workflow";
import { newestFirst, pickForCompare } from "../model/revisions";
import type { RevisionPair } from "./revision-compare";

export function RevisionHistoryDialog({
  workflowId,
  current,
  onClose,
  onRestore,
  onCompare,
}: {
  workflowId: number;
  current: number;
  onClose: () => void;
  /** Absent when the draft cannot change (a read-only workflow). */
  onRestore?: (g: Graph, revision: number) => void;
  onCompare: (pair: RevisionPair) => void;
}) {
  const revisions = useRevisions(workflowId, true);
  const [busy, setBusy] = useState<number | null>(null);
  const [picked, setPicked] = useState<number[]>([]);
  return (
    <Dialog
      open
      wide
      onOpenChange={(o) => !o && onClose()}
      title="Revision history"
      description="Every save is kept. Tick two revisions to compare them; restoring loads a revision into the editor as an undoable change."
      footer={
        <Button
          size="sm"
          variant="primary"
          disabled={picked.length !== 2}
          data-testid="compare-revisions"
          onClick={() => {
            const [x, y] = [...picked].sort((p, q) => p - q);
            onCompare({ a: x!, b: y! });
          }}
        >
          Compare selected
        </Button>
      }
    >
      {revisions.isPending ? (
        <LoadingState />
      ) : revisions.isError ? (
        <p className="text-sm text-rose-700">{String(revisions.error.message)}</p>
      ) : (
        <ul className="max-h-96 divide-y divide-slate-100 overflow-auto">
          {newestFirst(revisions.data).map((r) => {
            return (
              <li
                key={r.revision}
                className="flex items-center gap-3 py-2 text-sm"
                data-testid={`revision-${r.revision}`}
              >
                <input
                  type="checkbox"
                  className="h-4 w-4 rounded border-slate-300 text-indigo-600"
                  aria-label={`Compare revision ${r.revision}`}
                  checked={picked.includes(r.revision)}
                  onChange={() => setPicked((p) => pickForCompare(p, r.revision))}
                />
                <span className="font-medium">r{r.revision}</span>
                <span className="text-slate-500">{r.nodes} nodes</span>
                <span className="text-xs text-slate-500">{formatDateTime(r.createdAt)}</span>
                {r.author && (
                  <span className="truncate text-xs text-slate-500" title="Applied by">
                    by {r.author}
                  </span>
                )}
                {r.revision === current ? (
                  <span className="ml-auto">
                    <Badge tone="indigo">current</Badge>
                  </span>
                ) : onRestore ? (
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
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
    </Dialog>
  );
}
