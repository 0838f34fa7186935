import { Button, Dialog } from "@/shared/ui";
import type { SaveConflict } from "../model/outcome";

/** Offers the ways out of a lost save race; nothing is overwritten without asking. */
export function SaveConflictDialog({
  conflict,
  editingRevision,
  saving,
  onKeepEditing,
  onReload,
  onOverwrite,
}: {
  conflict: SaveConflict | null;
  editingRevision: number;
  saving: boolean;
  onKeepEditing: () => void;
  onReload: () => void;
  onOverwrite: (currentRevision: number) => void;
}) {
  return (
    <Dialog
      open={!!conflict}
      onOpenChange={(o) => !o && onKeepEditing()}
      title="This workflow changed elsewhere"
      description={`Someone saved revision ${conflict?.currentRevision ?? "?"} while you were editing revision ${editingRevision}. Nothing was overwritten.`}
      footer={
        <>
          <Button onClick={onKeepEditing}>Keep editing</Button>
          <Button onClick={onReload}>Reload their version</Button>
          <Button
            variant="danger"
            onClick={() => onOverwrite(conflict!.currentRevision)}
            loading={saving}
          >
            Overwrite with mine
          </Button>
        </>
      }
    >
      <p className="text-sm text-slate-600">
        Reload to continue from the latest revision (your unsaved changes are discarded), or
        overwrite it with your version (theirs stays in the revision history).
      </p>
    </Dialog>
  );
}
