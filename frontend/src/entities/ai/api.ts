import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";

export type AiStatus = Schemas["AiStatus"];

export type RuleSuggestion = Schemas["RuleSuggestion"];
export type RuleSuggestions = Schemas["RuleSuggestions"];

export const aiKeys = {
  status: ["ai", "status"] as const,
  ruleSuggestions: ["ai", "rule-suggestions"] as const,
};

/**
 * Suggested rules from patterns in the caller's data (statistics by the
 * platform; worded by the model when one is configured). Asked for once
 * per visit: each answer may cost a model call.
 */
export function useRuleSuggestions(enabled = true) {
  return useQuery({
    queryKey: aiKeys.ruleSuggestions,
    queryFn: () => unwrap(api.GET("/api/ai/rule-suggestions")),
    enabled,
    staleTime: 10 * 60_000,
    retry: false,
  });
}

/** Whether the server has a language model configured; the SPA hides every AI control when not. */
export function useAiStatus() {
  return useQuery({
    queryKey: aiKeys.status,
    queryFn: () => unwrap(api.GET("/api/ai/status")),
    staleTime: 5 * 60_000,
    retry: false,
  });
}

/** True only once the server said the assistant is on. */
export function useAiEnabled(): boolean {
  return useAiStatus().data?.enabled === true;
}
