export { LoginForm } from "./ui";
