import { useParams } from "react-router";
import { ErrorState, LoadingState } from "@/shared/ui";
import { useLimitSettings, useTemplate } from "@/entities/template";
import { TemplateEditor, blankSpec, specOf } from "@/widgets/template-editor";
import { TestNodePanel } from "./test-panel";

export default function AdminTemplatePage() {
  const { name = "new" } = useParams();
  const isNew = name === "new";
  const template = useTemplate(isNew ? null : name);
  // A new template starts from the server's defaults (one source for both).
  const limits = useLimitSettings();
  const pending = isNew ? limits : template;
  if (pending.isPending) return <LoadingState />;
  if (pending.isError) {
    return (
      <div className="p-6">
        <ErrorState error={pending.error} onRetry={() => pending.refetch()} />
      </div>
    );
  }
  const stored = isNew ? undefined : template.data;
  return (
    <TemplateEditor
      key={`${name}@${String(stored?.version ?? 0)}`}
      initial={stored ? specOf(stored) : blankSpec(limits.data!)}
      isNew={isNew}
      version={stored?.version}
      deleted={!!stored?.deleted}
      testPanel={(args) => <TestNodePanel {...args} />}
    />
  );
}
