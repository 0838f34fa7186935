import { useMutation } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";

export type Summary = Schemas["Summary"];
export type SummaryKind = Schemas["SummaryKind"];

export function useSummary() {
  return useMutation({
    mutationFn: (req: { kind: SummaryKind; id: number }) =>
      unwrap(api.POST("/api/ai/summaries", { body: req })),
  });
}
