import { useParams } from "react-router";
import { ErrorState, LoadingState } from "@/shared/ui";
import { useTemplate } from "@/entities/template";
import { TemplateEditor, blankSpec, specOf } from "@/widgets/template-editor";
import { TestNodePanel } from "./test-panel";

export default function AdminTemplatePage() {
  const { name = "new" } = useParams();
  const isNew = name === "new";
  const template = useTemplate(isNew ? null : name);
  if (!isNew && template.isPending) return <LoadingState />;
  if (!isNew && template.isError) {
    return (
      <div className="p-6">
        <ErrorState error={template.error} onRetry={() => template.refetch()} />
      </div>
    );
  }
  const stored = isNew ? undefined : template.data;
  return (
    <TemplateEditor
      key={`${name}@${String(stored?.version ?? 0)}`}
      initial={stored ? specOf(stored) : blankSpec()}
      isNew={isNew}
      version={stored?.version}
      deleted={!!stored?.deleted}
      testPanel={(args) => <TestNodePanel {...args} />}
    />
  );
}
