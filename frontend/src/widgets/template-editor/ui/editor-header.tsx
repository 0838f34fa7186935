import { Badge, Button } from "@/shared/ui";

export function EditorHeader({
  title,
  isNew,
  version,
  deleted,
  dirty,
  saving,
  onBack,
  onDelete,
  onSave,
}: {
  title: string;
  isNew: boolean;
  version?: number;
  deleted: boolean;
  dirty: boolean;
  saving: boolean;
  onBack: () => void;
  onDelete: () => void;
  onSave: () => void;
}) {
  return (
    <div className="flex items-center gap-3 border-b border-slate-200 bg-white px-6 py-3">
      <button className="text-sm text-slate-500 hover:text-slate-800" onClick={onBack}>
        ← Library
      </button>
      <h1 className="text-lg font-semibold">{title}</h1>
      {version != null && <Badge tone="indigo">v{version}</Badge>}
      {deleted && <Badge tone="rose">deleted</Badge>}
      {dirty && <Badge tone="amber">unsaved</Badge>}
      <div className="ml-auto flex gap-2">
        {!isNew && !deleted && (
          <Button variant="ghost" onClick={onDelete}>
            Delete
          </Button>
        )}
        <Button variant="primary" onClick={onSave} loading={saving} disabled={!dirty && !isNew}>
          {isNew ? "Create node" : "Save new version"}
        </Button>
      </div>
    </div>
  );
}
