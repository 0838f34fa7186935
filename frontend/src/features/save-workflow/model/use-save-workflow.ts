import { useCallback, useState } from "react";
import { toast } from "@/shared/ui";
import { fetchWorkflow, saveWorkflow, type Graph, type Workflow } from "@/entities/workflow";
import { clusterRefusal, conflictFrom, savedMessage, type SaveConflict } from "./outcome";

export interface SaveWorkflowOptions {
  /** The stored revision being edited; a save names it so the server can refuse a stale one. */
  workflow: Workflow;
  name: string;
  /** Defaults to the stored description. */
  description?: string;
  /** The editor's graph and its edit version at the moment of saving. */
  snapshot: () => { graph: Graph; version: number };
  /** `versionAtSave` tells the editor which of its edits the saved revision holds. */
  onSaved: (saved: Workflow, versionAtSave: number) => void;
  /** The latest revision, loaded after a conflict in place of the local edits. */
  onReloaded: (latest: Workflow) => void;
}

/** Saves with optimistic concurrency: a conflict is kept for the user to resolve. */
export function useSaveWorkflow({
  workflow,
  name,
  description,
  snapshot,
  onSaved,
  onReloaded,
}: SaveWorkflowOptions) {
  const [saving, setSaving] = useState(false);
  const [conflict, setConflict] = useState<SaveConflict | null>(null);

  const save = useCallback(
    async (overwriteRevision?: number) => {
      setSaving(true);
      const { graph, version } = snapshot();
      try {
        const saved = await saveWorkflow(workflow.id, {
          revision: overwriteRevision ?? workflow.revision,
          name,
          description: description ?? workflow.description,
          graph,
        });
        onSaved(saved, version);
        setConflict(null);
        toast.success(savedMessage(saved));
      } catch (e) {
        const refusal = clusterRefusal(e);
        const lost = refusal ? null : conflictFrom(e, workflow.revision);
        if (refusal) toast.error(new Error(refusal));
        else if (lost) setConflict(lost);
        else toast.error(e);
      } finally {
        setSaving(false);
      }
    },
    [workflow, name, description, snapshot, onSaved],
  );

  const reload = useCallback(async () => {
    try {
      const latest = await fetchWorkflow(workflow.id);
      onReloaded(latest);
      setConflict(null);
      toast.info(`Loaded revision ${latest.revision}. Your changes were discarded.`);
    } catch (e) {
      toast.error(e);
    }
  }, [workflow.id, onReloaded]);

  const dismissConflict = useCallback(() => setConflict(null), []);

  return { saving, conflict, save, reload, dismissConflict };
}
