export { RuleSuggestions } from "./ui";
