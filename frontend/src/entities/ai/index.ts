export {
  aiKeys,
  useAiEnabled,
  useAiStatus,
  useRuleSuggestions,
  type AiStatus,
  type RuleSuggestion,
  type RuleSuggestions,
} from "./api";
