import { Button } from "@/shared/ui";
import { isFinal } from "@/entities/run";
import { requestCancel } from "../model/request-cancel";

/** Shown only while the run can still be cancelled. */
export function CancelRunButton({ runId, status }: { runId: number; status: string }) {
  if (isFinal(status)) return null;
  return (
    <Button size="sm" variant="danger" onClick={() => requestCancel(runId)}>
      Cancel run
    </Button>
  );
}
