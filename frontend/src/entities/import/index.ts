export {
  importKeys,
  uploadImport,
  useImport,
  useImportPreview,
  useImports,
  useSavedMappings,
  useImportProgress,
  downloadReport,
  type ImportProgress,
} from "./api";
export {
  FIELDS,
  fieldLabel,
  type DryRun,
  type ImportField,
  type ImportOptions,
  type ImportSession,
  type Mapping,
  type Preview,
  type Source,
} from "./model";
