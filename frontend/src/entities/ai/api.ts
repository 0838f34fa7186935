import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";

export type AiStatus = Schemas["AiStatus"];

export const aiKeys = {
  status: ["ai", "status"] as const,
};

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
