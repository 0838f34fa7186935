import {
  keepPreviousData,
  queryOptions,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";
import type { Graph } from "./model";

export type Workflow = Schemas["Workflow"];
export type WorkflowSummary = Schemas["WorkflowSummary"];

export const workflowKeys = {
  all: ["workflows"] as const,
  list: (clientId?: number, q?: string) => ["workflows", "list", clientId ?? 0, q ?? ""] as const,
  one: (id: number) => ["workflows", "one", id] as const,
  revisions: (id: number) => ["workflows", "revisions", id] as const,
  revision: (id: number, revision: number) => ["workflows", "revisions", id, revision] as const,
};

export function useWorkflows(clientId?: number, q?: string) {
  return useQuery({
    queryKey: workflowKeys.list(clientId, q),
    queryFn: () =>
      unwrap(
        api.GET("/api/workflows", {
          params: { query: { clientId, q: q || undefined, perPage: 100 } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

export interface WorkflowFilter {
  clientId?: number;
  createdBy?: number;
  q?: string;
  page?: number;
  perPage?: number;
}

/** Workflows across every client the caller may see (admins: all), paged. */
export function useWorkflowList(filter: WorkflowFilter) {
  return useQuery({
    queryKey: ["workflows", "page", filter],
    queryFn: () => unwrap(api.GET("/api/workflows", { params: { query: filter } })),
    placeholderData: keepPreviousData,
  });
}

/** One workflow; also used to start loading it before the editor's code has arrived. */
export function workflowQuery(id: number) {
  return queryOptions({
    queryKey: workflowKeys.one(id),
    queryFn: () => unwrap(api.GET("/api/workflows/{id}", { params: { path: { id } } })),
    refetchOnWindowFocus: false,
  });
}

export function useWorkflow(id: number) {
  return useQuery(workflowQuery(id));
}

export function fetchWorkflow(id: number) {
  return unwrap(api.GET("/api/workflows/{id}", { params: { path: { id } } }));
}

export function useRevisions(id: number, enabled: boolean) {
  return useQuery({
    queryKey: workflowKeys.revisions(id),
    enabled,
    queryFn: () => unwrap(api.GET("/api/workflows/{id}/revisions", { params: { path: { id } } })),
  });
}

export function fetchRevision(id: number, revision: number) {
  return unwrap(
    api.GET("/api/workflows/{id}/revisions/{revision}", { params: { path: { id, revision } } }),
  );
}

/** One stored revision; revisions never change, so it is fetched once. */
export function useRevision(id: number, revision: number) {
  return useQuery({
    queryKey: workflowKeys.revision(id, revision),
    queryFn: () => fetchRevision(id, revision),
    staleTime: Infinity,
  });
}

export function useCreateWorkflow() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { clientId: number; name: string; description?: string }) =>
      unwrap(api.POST("/api/workflows", { body: { ...body, graph: { nodes: [], edges: [] } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: workflowKeys.all }),
  });
}

export function saveWorkflow(
  id: number,
  body: { revision: number; name: string; description: string; graph: Graph },
) {
  return unwrap(
    api.PUT("/api/workflows/{id}", {
      params: { path: { id } },
      body: body as unknown as Schemas["UpdateWorkflow"],
    }),
  );
}

export function validateOnServer(graph: Graph) {
  return unwrap(
    api.POST("/api/workflows/validate", {
      body: { graph } as unknown as Schemas["ValidateRequest"],
    }),
  );
}

export function useDeleteWorkflow() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/workflows/{id}", { params: { path: { id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: workflowKeys.all }),
  });
}
