import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";

export type WorkflowTemplate = Schemas["WorkflowTemplate"];
export type TemplateParameter = Schemas["TemplateParameter"];
export type Instantiated = Schemas["Instantiated"];

export const workflowTemplateKeys = {
  all: ["workflow-templates"] as const,
  list: ["workflow-templates", "list"] as const,
};

/** Shipped and shared templates, and the caller's own. */
export function useWorkflowTemplates() {
  return useQuery({
    queryKey: workflowTemplateKeys.list,
    queryFn: () => unwrap(api.GET("/api/workflow-templates")),
    staleTime: 30_000,
  });
}

export function useDeleteWorkflowTemplate() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/workflow-templates/{id}", { params: { path: { id } } })),
    onSettled: () => qc.invalidateQueries({ queryKey: workflowTemplateKeys.all }),
  });
}

export interface InstantiateRequest {
  templateId: number;
  clientId: number;
  name: string;
  values: Record<string, unknown>;
}

/** Creates a workflow (and the template's triggers) for a client. */
export function useInstantiateTemplate() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ templateId, ...body }: InstantiateRequest) =>
      unwrap(
        api.POST("/api/workflow-templates/{id}/instantiate", {
          params: { path: { id: templateId } },
          body: body as Schemas["Instantiate"],
        }),
      ),
    // The form shows the errors next to its fields.
    meta: { silent: true },
    // The new workflow shows in every workflow list.
    onSuccess: () => qc.invalidateQueries({ queryKey: ["workflows"] }),
  });
}

export interface SaveAsTemplateRequest {
  workflowId: number;
  name: string;
  description: string;
  category?: string;
  shared: boolean;
}

export function useSaveAsTemplate() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: SaveAsTemplateRequest) =>
      unwrap(api.POST("/api/workflow-templates", { body })),
    meta: { silent: true },
    onSuccess: () => qc.invalidateQueries({ queryKey: workflowTemplateKeys.all }),
  });
}
