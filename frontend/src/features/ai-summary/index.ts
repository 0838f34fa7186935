export { AiSummary } from "./ui";
