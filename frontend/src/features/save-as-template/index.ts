export { SaveAsTemplateDialog } from "./ui/save-as-template";
