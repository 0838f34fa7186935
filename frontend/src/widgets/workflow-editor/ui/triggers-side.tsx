import { TriggersPanel } from "@/features/workflow-triggers";
import { useEditor, useEditorContext } from "../model/context";

/** The Triggers panel in the inspector's place, fed the graph being edited (for its input pickers). */
export function TriggersSide(props: {
  workflowId: number;
  clientId: number;
  unsaved: boolean;
  onOpenRun: (runId: number) => void;
  onClose: () => void;
}) {
  const { lookup } = useEditorContext();
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  return <TriggersPanel {...props} nodes={nodes} edges={edges} lookup={lookup} />;
}
