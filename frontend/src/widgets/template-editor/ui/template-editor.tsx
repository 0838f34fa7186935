import { useState } from "react";
import { useNavigate } from "react-router";
import { fieldErrors } from "@/shared/api";
import { useWarnBeforeUnload } from "@/shared/lib";
import { toast } from "@/shared/ui";
import { useDeleteTemplate, useSaveTemplate, type TemplateSpec } from "@/entities/template";
import { isSpecDirty, templateSavedMessage } from "../model/spec";
import type { SetSpecField, TestPanel } from "../model/types";
import { EditorHeader } from "./editor-header";
import { IdentityFields } from "./identity-fields";
import { SaveErrors } from "./save-errors";
import { SectionTabs } from "./section-tabs";

export interface TemplateEditorProps {
  initial: TemplateSpec;
  isNew: boolean;
  /** The stored version being edited; absent for a new node. */
  version?: number;
  deleted: boolean;
  testPanel?: TestPanel;
}

/** Edits a node template; every save stores a new version. */
export function TemplateEditor({
  initial,
  isNew,
  version,
  deleted,
  testPanel,
}: TemplateEditorProps) {
  const [spec, setSpec] = useState<TemplateSpec>(initial);
  const save = useSaveTemplate();
  const remove = useDeleteTemplate();
  const navigate = useNavigate();
  const errors = fieldErrors(save.error);
  const dirty = isSpecDirty(spec, initial);
  const set: SetSpecField = (k, v) => setSpec((s) => ({ ...s, [k]: v }));
  useWarnBeforeUnload(dirty);

  function submit() {
    save.mutate(
      { spec, isNew },
      {
        onSuccess: (t) => {
          toast.success(templateSavedMessage(t, version));
          navigate(`/admin/library/${encodeURIComponent(t.name)}`, { replace: true });
        },
      },
    );
  }

  function deleteTemplate() {
    if (confirm(`Delete ${spec.name}? Workflows pinning it will report it as deleted.`)) {
      remove.mutate(spec.name, { onSuccess: () => navigate("/admin/library") });
    }
  }

  return (
    <div className="flex h-full flex-col">
      <EditorHeader
        title={isNew ? "New node" : spec.title || spec.name}
        isNew={isNew}
        version={version}
        deleted={deleted}
        dirty={dirty}
        saving={save.isPending}
        onBack={() => navigate("/admin/library")}
        onDelete={deleteTemplate}
        onSave={submit}
      />
      <SaveErrors error={save.error} fields={errors} />
      <div className="min-h-0 flex-1 overflow-auto">
        <div className="mx-auto max-w-6xl space-y-5 p-6">
          <IdentityFields spec={spec} set={set} errors={errors} isNew={isNew} />
          <SectionTabs
            spec={spec}
            set={set}
            errors={errors}
            initial={initial}
            isNew={isNew}
            version={version}
            deleted={deleted}
            dirty={dirty}
            testPanel={testPanel}
          />
        </div>
      </div>
    </div>
  );
}
