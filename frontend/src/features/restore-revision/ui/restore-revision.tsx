import { useState } from "react";
import { Button, toast } from "@/shared/ui";
import type { Graph, TemplateLookup } from "@/entities/workflow";
import { restoredMessage } from "../model/revisions";
import { RevisionCompare, type RevisionPair } from "./revision-compare";
import { RevisionHistoryDialog } from "./revision-history-dialog";

/**
 * The "History" button, its dialog and the comparison of two revisions. A
 * restored graph goes to `onRestore` (the editor applies it as an undoable
 * change); it is saved only on Save. Without `onRestore` history is read-only.
 */
export function RestoreRevision({
  workflowId,
  clientId,
  current,
  lookup,
  onRestore,
}: {
  workflowId: number;
  clientId: number;
  current: number;
  lookup?: TemplateLookup;
  onRestore?: (graph: Graph) => void;
}) {
  const [open, setOpen] = useState(false);
  const [pair, setPair] = useState<RevisionPair | null>(null);
  const restore = onRestore
    ? (g: Graph, rev: number) => {
        onRestore(g);
        setOpen(false);
        setPair(null);
        toast.info(restoredMessage(rev));
      }
    : undefined;
  return (
    <>
      <Button size="sm" onClick={() => setOpen(true)}>
        History
      </Button>
      {open && !pair && (
        <RevisionHistoryDialog
          workflowId={workflowId}
          current={current}
          onClose={() => setOpen(false)}
          onRestore={restore}
          onCompare={setPair}
        />
      )}
      {pair && (
        <RevisionCompare
          workflowId={workflowId}
          clientId={clientId}
          pair={pair}
          lookup={lookup}
          onClose={() => setPair(null)}
          onRestore={restore}
        />
      )}
    </>
  );
}
