import { useState } from "react";
import { Button, toast } from "@/shared/ui";
import type { Graph } from "@/entities/workflow";
import { restoredMessage } from "../model/revisions";
import { RevisionHistoryDialog } from "./revision-history-dialog";

/**
 * The "History" button and its dialog. A restored graph goes to `onRestore`
 * (the editor applies it as an undoable change); it is saved only on Save.
 */
export function RestoreRevision({
  workflowId,
  current,
  onRestore,
}: {
  workflowId: number;
  current: number;
  onRestore: (graph: Graph) => void;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button size="sm" onClick={() => setOpen(true)}>
        History
      </Button>
      {open && (
        <RevisionHistoryDialog
          workflowId={workflowId}
          current={current}
          onClose={() => setOpen(false)}
          onRestore={(g, rev) => {
            onRestore(g);
            setOpen(false);
            toast.info(restoredMessage(rev));
          }}
        />
      )}
    </>
  );
}
