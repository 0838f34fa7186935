import { toast } from "@/shared/ui";
import { cancelRun } from "@/entities/run";

/** Asks the server to cancel a run; the run's own events report when it has stopped. */
export async function requestCancel(runId: number): Promise<void> {
  try {
    await cancelRun(runId);
    toast.info(`Cancelling run #${runId}…`);
  } catch (e) {
    toast.error(e);
  }
}
