export { InstantiateDialog, type ClientChoice } from "./ui/instantiate-dialog";
export {
  buildParamValues,
  initialParamValues,
  paramInput,
  sortInstantiateErrors,
} from "./model/values";
