export { TriggersPanel } from "./ui/triggers-panel";
export {
  buildTriggerConfig,
  errorKeyFor,
  formFromTrigger,
  newTriggerForm,
  placeServerErrors,
  type TriggerForm,
} from "./model/form";
export { inputPortChoices, type PortChoice } from "./model/ports";
