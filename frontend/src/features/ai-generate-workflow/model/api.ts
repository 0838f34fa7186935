import { useMutation } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";
import type { Graph } from "@/entities/workflow";

export type GenerateResponse = Schemas["GenerateResponse"];

export interface Proposal {
  graph: Graph;
  rounds: number;
  warnings: number;
}

/** Asks the server for a proposal; nothing is saved by it. */
export function useGenerateWorkflow() {
  return useMutation({
    mutationFn: async (req: { prompt: string; clientId: number; graph: Graph }) => {
      const r = await unwrap(
        api.POST("/api/ai/generate-workflow", {
          body: {
            prompt: req.prompt,
            clientId: req.clientId,
            graph: req.graph.nodes.length ? (req.graph as unknown as Schemas["Graph"]) : undefined,
          },
        }),
      );
      return {
        graph: r.graph as unknown as Graph,
        rounds: r.rounds,
        warnings: r.problems.length,
      } satisfies Proposal;
    },
  });
}
