import {
  keepPreviousData,
  useMutation,
  useQuery,
  useQueryClient,
  queryOptions,
} from "@tanstack/react-query";
import { api, unwrap, type Role, type Schemas } from "@/shared/api";

export type User = Schemas["User"];

export interface UserFilter {
  q?: string;
  role?: Role;
  active?: boolean;
  page?: number;
  perPage?: number;
}

export const userKeys = {
  all: ["users"] as const,
  list: (f: UserFilter) => ["users", "list", f] as const,
  clientsOf: (managerId: number) => ["users", "clientsOf", managerId] as const,
  managersOf: (clientId: number) => ["users", "managersOf", clientId] as const,
  myClients: ["users", "myClients"] as const,
};

export function useUsers(filter: UserFilter) {
  return useQuery({
    queryKey: userKeys.list(filter),
    queryFn: () => unwrap(api.GET("/api/admin/users", { params: { query: filter } })),
    placeholderData: keepPreviousData,
  });
}

/** Every user of one role (for pickers); the API pages at 100. */
export function useAllUsers(role: Role) {
  return useUsers({ role, active: true, perPage: 100 });
}

export function useCreateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["CreateUser"]) => unwrap(api.POST("/api/admin/users", { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: userKeys.all }),
  });
}

export function useUpdateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: Schemas["UpdateUser"] & { id: number }) =>
      unwrap(api.PATCH("/api/admin/users/{id}", { params: { path: { id } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: userKeys.all }),
  });
}

export function useResetPassword() {
  return useMutation({
    mutationFn: ({ id, password }: { id: number; password: string }) =>
      unwrap(
        api.POST("/api/admin/users/{id}/password", {
          params: { path: { id } },
          body: { password },
        }),
      ),
  });
}

export function useClientsOfManager(managerId: number | null) {
  return useQuery({
    queryKey: userKeys.clientsOf(managerId ?? 0),
    enabled: managerId != null,
    queryFn: () =>
      unwrap(
        api.GET("/api/admin/managers/{managerId}/clients", {
          params: { path: { managerId: managerId! } },
        }),
      ),
  });
}

export function useManagersOfClient(clientId: number | null) {
  return useQuery({
    queryKey: userKeys.managersOf(clientId ?? 0),
    enabled: clientId != null,
    queryFn: () =>
      unwrap(
        api.GET("/api/admin/clients/{clientId}/managers", {
          params: { path: { clientId: clientId! } },
        }),
      ),
  });
}

export function useSetAssignment() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({
      managerId,
      clientId,
      linked,
    }: {
      managerId: number;
      clientId: number;
      linked: boolean;
    }) => {
      const params = { path: { managerId, clientId } };
      return linked
        ? unwrap(api.PUT("/api/admin/managers/{managerId}/clients/{clientId}", { params }))
        : unwrap(api.DELETE("/api/admin/managers/{managerId}/clients/{clientId}", { params }));
    },
    onSettled: () => qc.invalidateQueries({ queryKey: userKeys.all }),
  });
}

export function myClientsQuery() {
  return queryOptions({
    queryKey: userKeys.myClients,
    queryFn: () => unwrap(api.GET("/api/manager/clients")),
  });
}

export function useMyClients() {
  return useQuery(myClientsQuery());
}
