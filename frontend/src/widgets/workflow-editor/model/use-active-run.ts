import { useEffect, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { isFinal, runKeys, useRun, useRunEvents, useRuns, type Run } from "@/entities/run";

/** The run shown in the editor's Run tab, followed live. */
export function useActiveRun() {
  const [id, setId] = useState<number | null>(null);
  const qc = useQueryClient();
  const query = useRun(id);
  const live = useRunEvents(query.data);
  const liveStatus = live?.status;
  // When the run ends, reload it for the outputs and refresh the history.
  useEffect(() => {
    if (id != null && isFinal(liveStatus)) {
      qc.invalidateQueries({ queryKey: runKeys.one(id) });
      qc.invalidateQueries({ queryKey: ["runs", "list"] });
    }
  }, [liveStatus, id, qc]);
  const run = query.data;
  return { id, run, live, status: run ? (liveStatus ?? run.status) : undefined, open: setId };
}

export type ActiveRun = ReturnType<typeof useActiveRun>;

/**
 * The run the inspector judges expressions on: the one open in the Run tab,
 * else the workflow's latest run.
 */
export function useLastRun(workflowId: number, open: Run | undefined): Run | undefined {
  const list = useRuns({ workflowId, perPage: 1 });
  const latestId = open ? null : (list.data?.items[0]?.id ?? null);
  const latest = useRun(latestId);
  return open ?? latest.data;
}
