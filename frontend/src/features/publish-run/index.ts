export { useUpdateVisibility, visibilityMessage, type Visibility } from "./model/update-visibility";
export { PublishControls } from "./ui/publish-controls";
