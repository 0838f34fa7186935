export { AppShell, Logo } from "./ui";
