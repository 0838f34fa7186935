import { modKeyLabel } from "@/shared/lib";
import { Button } from "@/shared/ui";

export function SaveButton({
  dirty,
  saving,
  onSave,
}: {
  dirty: boolean;
  saving: boolean;
  onSave: () => void;
}) {
  return (
    <Button
      size="sm"
      variant="primary"
      onClick={() => onSave()}
      loading={saving}
      disabled={!dirty && !saving}
      title={`Save (${modKeyLabel}+S)`}
    >
      Save
    </Button>
  );
}
