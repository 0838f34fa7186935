export {
  useDeleteWorkflowTemplate,
  useInstantiateTemplate,
  useSaveAsTemplate,
  useWorkflowTemplates,
  workflowTemplateKeys,
  type InstantiateRequest,
  type Instantiated,
  type SaveAsTemplateRequest,
  type TemplateParameter,
  type WorkflowTemplate,
} from "./api";
export {
  canDeleteTemplate,
  isFlowKind,
  nodeKindLabel,
  sortNodeKinds,
  templateBadges,
  triggerKindLabel,
  type TemplateBadge,
} from "./model/kinds";
export {
  kindColors,
  linePath,
  previewLayout,
  previewViewBox,
  type PreviewLayout,
} from "./model/preview";
export { GraphPreview } from "./ui/graph-preview";
export { TemplateCard } from "./ui/template-card";
