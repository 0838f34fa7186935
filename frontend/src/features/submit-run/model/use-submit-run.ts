import { useCallback, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { toast } from "@/shared/ui";
import type { Problem } from "@/entities/workflow";
import { startRun } from "@/entities/run";
import { BLOCKED_MESSAGE, blocksRun } from "./blocking";

/** `sync` waits for the result (a test run); `async` runs in the background. */
export type RunMode = "async" | "sync";

export type StartedRun = Awaited<ReturnType<typeof startRun>>;

export interface SubmitRunOptions {
  workflowId: number;
  /** Problems of the graph as it is now, saved or not. */
  currentProblems: () => Problem[];
  onBlocked: () => void;
  /** A run uses the saved revision, so unsaved edits are saved first. */
  saveIfDirty: () => Promise<void>;
  onStarted: (run: StartedRun) => void;
}

export function useSubmitRun({
  workflowId,
  currentProblems,
  onBlocked,
  saveIfDirty,
  onStarted,
}: SubmitRunOptions) {
  const [starting, setStarting] = useState<RunMode | null>(null);
  const qc = useQueryClient();

  const submit = useCallback(
    async (mode: RunMode) => {
      if (blocksRun(currentProblems())) {
        toast.error(new Error(BLOCKED_MESSAGE));
        onBlocked();
        return;
      }
      setStarting(mode);
      try {
        await saveIfDirty();
        const started = await startRun(workflowId, mode);
        onStarted(started);
        qc.invalidateQueries({ queryKey: ["runs", "list"] });
        if (mode === "sync")
          toast.info(
            `Test run #${started.id} ${started.status}. It is not published to the client; publish it from the run view.`,
          );
      } catch (e) {
        toast.error(e);
      } finally {
        setStarting(null);
      }
    },
    [workflowId, currentProblems, onBlocked, saveIfDirty, onStarted, qc],
  );

  return { starting, submit };
}
