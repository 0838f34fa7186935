import { useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, useSession, type Role } from "@/shared/api";

export interface Person {
  id: number;
  username: string;
  name: string;
  role: Role;
}

/**
 * The people the signed-in user may know by name: admins see every user,
 * managers themselves and their clients, clients themselves. Used for
 * assignee avatars, pickers and @mention suggestions; anyone else shows as
 * `#id`.
 */
export function usePeople() {
  const me = useSession((s) => s.user);
  const role = me?.role;
  const all = useQuery({
    queryKey: ["users", "people", "all"],
    enabled: role === "admin",
    staleTime: 60_000,
    queryFn: async () => {
      const lists = await Promise.all(
        (["admin", "manager", "client"] as const).map((r) =>
          unwrap(
            api.GET("/api/admin/users", {
              params: { query: { role: r, active: true, perPage: 100 } },
            }),
          ),
        ),
      );
      return lists.flatMap((l) => l.items);
    },
  });
  const clients = useQuery({
    queryKey: ["users", "myClients"],
    enabled: role === "manager",
    queryFn: () => unwrap(api.GET("/api/manager/clients")),
  });
  return useMemo(() => {
    const byId = new Map<number, Person>();
    for (const u of [...(all.data ?? []), ...(clients.data ?? [])])
      byId.set(u.id, {
        id: u.id,
        username: u.username,
        name: u.displayName || u.username,
        role: u.role as Role,
      });
    if (me)
      byId.set(me.id, {
        id: me.id,
        username: me.username,
        name: me.displayName || me.username,
        role: me.role,
      });
    const list = [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
    return {
      list,
      clients: list.filter((p) => p.role === "client"),
      get: (id: number) => byId.get(id),
      name: (id: number) => byId.get(id)?.name ?? `#${id}`,
    };
  }, [all.data, clients.data, me]);
}
