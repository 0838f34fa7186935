export {
  PARAM_KINDS,
  PORT_COLORS,
  PORT_TYPES,
  fetchTemplateVersion,
  templateKeys,
  useDeleteTemplate,
  useSaveTemplate,
  useTemplate,
  useTemplateVersions,
  useTemplates,
  type ParamKind,
  type ParamSpec,
  type PortSpec,
  type PortType,
  type Template,
  type TemplateSpec,
} from "./api";
export { ParamField } from "./param-field";
