import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";

export type SessionInfo = Schemas["SessionInfo"];

export const sessionKeys = {
  mine: ["sessions", "mine"] as const,
};

export function useMySessions(enabled: boolean) {
  return useQuery({
    queryKey: sessionKeys.mine,
    queryFn: () => unwrap(api.GET("/api/auth/sessions")),
    enabled,
  });
}

export function useRevokeSession() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (sessionId: string) =>
      unwrap(api.DELETE("/api/auth/sessions/{sessionId}", { params: { path: { sessionId } } })),
    onSettled: () => qc.invalidateQueries({ queryKey: sessionKeys.mine }),
  });
}

/** Admins: end every session of a user. */
export function useEndUserSessions() {
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/admin/users/{id}/sessions", { params: { path: { id } } })),
  });
}
