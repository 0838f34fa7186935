export { importErrorMessage } from "./model/outcome";
export { ImportManifestButton } from "./ui/import-manifest-button";
