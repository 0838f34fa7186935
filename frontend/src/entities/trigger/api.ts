import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";

export type Trigger = Schemas["Trigger"];
export type TriggerConfig = Schemas["TriggerConfig"];
export type TriggerKind = TriggerConfig["kind"];
export type ScheduleConfig = Extract<TriggerConfig, { kind: "schedule" }>;
export type WebhookConfig = Extract<TriggerConfig, { kind: "webhook" }>;
export type EventConfig = Extract<TriggerConfig, { kind: "event" }>;
export type EventKind = Schemas["EventKind"];
export type MissedPolicy = Schemas["MissedPolicy"];
export type Firing = Schemas["Firing"];
export type FiringOutcome = Schemas["FiringOutcome"];
export type CreatedTrigger = Schemas["CreatedTrigger"];

export const triggerKeys = {
  all: ["triggers"] as const,
  list: (workflowId: number) => ["triggers", "list", workflowId] as const,
  firings: (id: number) => ["triggers", "firings", id] as const,
};

/** A workflow's triggers; refreshed now and then, since schedules move on and fire. */
export function useTriggers(workflowId: number) {
  return useQuery({
    queryKey: triggerKeys.list(workflowId),
    queryFn: () =>
      unwrap(api.GET("/api/workflows/{id}/triggers", { params: { path: { id: workflowId } } })),
    refetchInterval: 30_000,
  });
}

/** The trigger's last 100 firings, newest first. */
export function useFirings(id: number | null) {
  return useQuery({
    queryKey: triggerKeys.firings(id ?? 0),
    enabled: id != null,
    queryFn: () => unwrap(api.GET("/api/triggers/{id}/firings", { params: { path: { id: id! } } })),
  });
}

export function useCreateTrigger(workflowId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["CreateTrigger"]) =>
      unwrap(
        api.POST("/api/workflows/{id}/triggers", { params: { path: { id: workflowId } }, body }),
      ),
    // The form shows the errors next to its fields.
    meta: { silent: true },
    onSuccess: () => qc.invalidateQueries({ queryKey: triggerKeys.list(workflowId) }),
  });
}

export function usePatchTrigger(workflowId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: Schemas["PatchTrigger"] & { id: number }) =>
      unwrap(api.PATCH("/api/triggers/{id}", { params: { path: { id } }, body })),
    // Callers show the error where it belongs: the form's fields, or a toast for a toggle.
    meta: { silent: true },
    onSuccess: (saved) =>
      qc.setQueryData<Trigger[]>(triggerKeys.list(workflowId), (list) =>
        list?.map((t) => (t.id === saved.id ? saved : t)),
      ),
    onSettled: () => qc.invalidateQueries({ queryKey: triggerKeys.list(workflowId) }),
  });
}

export function useDeleteTrigger(workflowId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/triggers/{id}", { params: { path: { id } } })),
    onSettled: () => qc.invalidateQueries({ queryKey: triggerKeys.list(workflowId) }),
  });
}
