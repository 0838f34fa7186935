import { useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Button, toast } from "@/shared/ui";
import {
  applyManifest,
  manifestFileProblem,
  workflowKeys,
  type Workflow,
} from "@/entities/workflow";
import { importErrorMessage } from "../model/outcome";

/**
 * "Import YAML": creates a workflow from a manifest file, or saves a new
 * revision of the one its name and client label point at.
 */
export function ImportManifestButton({ onImported }: { onImported: (w: Workflow) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const qc = useQueryClient();
  async function importFile(file: File) {
    setBusy(true);
    try {
      const text = await file.text();
      const refused = manifestFileProblem(file.size, text);
      if (refused) {
        toast.error(new Error(`${file.name} is not a Workflow manifest. ${refused}`));
        return;
      }
      const w = await applyManifest(text);
      await qc.invalidateQueries({ queryKey: workflowKeys.all });
      toast.success(`Imported ${file.name} as “${w.name}”, revision ${w.revision}.`);
      onImported(w);
    } catch (e) {
      toast.error(new Error(importErrorMessage(e, file.name)));
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <Button
        loading={busy}
        onClick={() => input.current?.click()}
        title="Create or update a workflow from a Workflow manifest file"
      >
        Import YAML
      </Button>
      <input
        ref={input}
        type="file"
        className="hidden"
        data-testid="import-manifest"
        aria-label="Import a Workflow manifest"
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = "";
          if (f) void importFile(f);
        }}
      />
    </>
  );
}
