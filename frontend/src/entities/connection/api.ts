import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";

export type Connection = Schemas["Connection"];
export type ConnectionInput = Schemas["ConnectionInput"];
export type TestResult = Schemas["TestResult"];
export type UsableConnection = Schemas["UsableConnection"];

export const CONNECTION_KINDS = ["postgres", "mysql", "sqlserver", "mongodb"] as const;
export const TLS_MODES = ["disable", "prefer", "require", "verify_ca", "verify_full"] as const;

export const connectionKeys = {
  all: ["connections"] as const,
  usable: (clientId?: number) => ["connections", "usable", clientId ?? null] as const,
};

export function useConnections() {
  return useQuery({
    queryKey: connectionKeys.all,
    queryFn: () => unwrap(api.GET("/api/admin/connections")),
  });
}

/** Names of the connections a manager may use for a client. */
export function useUsableConnections(clientId?: number) {
  return useQuery({
    queryKey: connectionKeys.usable(clientId),
    queryFn: () => unwrap(api.GET("/api/connections", { params: { query: { clientId } } })),
  });
}

export function useSaveConnection() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id?: number; body: ConnectionInput }) =>
      id == null
        ? unwrap(api.POST("/api/admin/connections", { body }))
        : unwrap(api.PUT("/api/admin/connections/{id}", { params: { path: { id } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: connectionKeys.all }),
  });
}

export function useDeleteConnection() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/admin/connections/{id}", { params: { path: { id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: connectionKeys.all }),
  });
}

export function useTestConnection() {
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(api.POST("/api/admin/connections/{id}/test", { params: { path: { id } } })),
  });
}
