export { TriggersPanel } from "./ui/triggers-panel";
export { TriggerFormDialog } from "./ui/trigger-form-dialog";
export {
  buildTriggerConfig,
  errorKeyFor,
  formFromConfig,
  formFromTrigger,
  newTriggerForm,
  placeServerErrors,
  type TriggerForm,
} from "./model/form";
export { inputPortChoices, type PortChoice } from "./model/ports";
