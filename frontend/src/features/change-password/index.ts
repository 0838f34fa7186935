export { ChangePasswordDialog } from "./ui";
