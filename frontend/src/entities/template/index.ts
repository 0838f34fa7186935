export {
  PARAM_KINDS,
  PORT_COLORS,
  PORT_TYPES,
  fetchTemplateVersion,
  templateKeys,
  templatesQuery,
  useDeleteTemplate,
  useSaveTemplate,
  useTemplate,
  useTemplateVersions,
  useTemplates,
  useTestTemplate,
  type ParamKind,
  type ParamSpec,
  type PortSpec,
  type PortType,
  type Template,
  type TemplateSpec,
  type TemplateTestResult,
} from "./api";
export { ParamField } from "./param-field";
export {
  buildSampleInputs,
  initialSampleText,
  parseSample,
  readSampleFile,
  type SampleFile,
} from "./sample-values";
