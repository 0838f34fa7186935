import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { fieldErrors, errorMessage, useSession } from "@/shared/api";
import { Badge, Button, Checkbox, Dialog, Field, Input, Textarea } from "@/shared/ui";
import { useSaveAsTemplate, type WorkflowTemplate } from "@/entities/workflow-template";

/**
 * Saves the workflow's stored revision as a template: private to its
 * author, or (admins only) shared with every manager. Mounted while open,
 * so each opening starts afresh.
 */
export function SaveAsTemplateDialog({
  onClose,
  workflowId,
  workflowName,
  unsaved,
}: {
  onClose: () => void;
  workflowId: number;
  workflowName: string;
  /** The editor holds changes the stored revision does not have. */
  unsaved: boolean;
}) {
  const isAdmin = useSession((s) => s.user?.role === "admin");
  const save = useSaveAsTemplate();
  const [name, setName] = useState(workflowName);
  const [description, setDescription] = useState("");
  const [category, setCategory] = useState("");
  const [shared, setShared] = useState(false);
  const [saved, setSaved] = useState<WorkflowTemplate | null>(null);
  const errors = fieldErrors(save.error);
  const galleryPath = isAdmin ? "/admin/templates" : "/manager/templates";

  function submit(e: FormEvent) {
    e.preventDefault();
    save.mutate(
      {
        workflowId,
        name: name.trim(),
        description: description.trim(),
        category: category.trim() || undefined,
        shared: isAdmin && shared,
      },
      { onSuccess: setSaved },
    );
  }

  return (
    <Dialog
      open
      onOpenChange={(o) => !o && onClose()}
      title={saved ? "Saved as a template" : "Save as template"}
      description={
        saved
          ? undefined
          : "New workflows start from a copy of this graph. Secret values and triggers are left out: add triggers to each new workflow."
      }
    >
      {saved ? (
        <div className="space-y-3 text-sm" data-testid="saved-template">
          <p>
            <b>{saved.name}</b> is in the gallery{" "}
            {saved.shared ? "for every manager" : "for you only"}.
          </p>
          <p className="flex flex-wrap gap-1.5">
            <Badge tone={saved.shared ? "sky" : "green"}>{saved.shared ? "shared" : "mine"}</Badge>
            <Badge>{saved.category}</Badge>
            <Badge>{saved.nodeCount} nodes</Badge>
          </p>
          <div className="flex justify-end gap-2 pt-2">
            <Link
              to={galleryPath}
              className="rounded-md px-3.5 py-2 text-sm font-medium text-indigo-700 hover:bg-indigo-50"
            >
              Open the gallery
            </Link>
            <Button variant="primary" onClick={onClose}>
              Done
            </Button>
          </div>
        </div>
      ) : (
        <form onSubmit={submit} noValidate className="space-y-3">
          {unsaved && (
            <p className="rounded-md border border-amber-200 bg-amber-50 p-2 text-xs text-amber-900">
              The template is made from the saved revision: your unsaved changes are not in it.
            </p>
          )}
          <Field label="Template name" error={errors.name}>
            {(id) => (
              <Input
                id={id}
                value={name}
                maxLength={200}
                invalid={!!errors.name}
                onChange={(e) => setName(e.target.value)}
              />
            )}
          </Field>
          <Field label="Description" error={errors.description}>
            {(id) => (
              <Textarea
                id={id}
                value={description}
                maxLength={5000}
                placeholder="What it does and what to fill in"
                onChange={(e) => setDescription(e.target.value)}
              />
            )}
          </Field>
          <Field label="Category" hint="Optional; “Saved” when left empty.">
            {(id) => (
              <Input id={id} value={category} onChange={(e) => setCategory(e.target.value)} />
            )}
          </Field>
          {isAdmin && (
            <Checkbox
              label="Share with all managers"
              checked={shared}
              onChange={(e) => setShared(e.target.checked)}
            />
          )}
          {save.isError && Object.keys(errors).length === 0 && (
            <p className="text-sm text-rose-700" role="alert">
              {errorMessage(save.error)}
            </p>
          )}
          <div className="flex justify-end gap-2">
            <Button onClick={onClose}>Cancel</Button>
            <Button type="submit" variant="primary" loading={save.isPending}>
              Save template
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
