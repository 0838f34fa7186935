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
 * The people the signed-in user may know by name (`GET /api/task-people`):
 * admins everyone; others themselves and whoever reports, is assigned,
 * watches or shares a task they see; managers also their clients and those
 * clients' managers. Anyone else shows as `#id`. `clients` are the clients
 * the caller may create tasks for (a manager's own clients; an admin's all).
 */
export function usePeople() {
  const me = useSession((s) => s.user);
  const role = me?.role;
  const people = useQuery({
    queryKey: ["users", "task-people", me?.id],
    enabled: !!me,
    staleTime: 60_000,
    queryFn: () => unwrap(api.GET("/api/task-people")),
  });
  const myClients = useQuery({
    queryKey: ["users", "myClients"],
    enabled: role === "manager",
    queryFn: () => unwrap(api.GET("/api/manager/clients")),
  });
  return useMemo(() => {
    const byId = new Map<number, Person>();
    for (const u of people.data ?? [])
      byId.set(u.id, {
        id: u.id,
        username: u.username,
        name: u.displayName || u.username,
        role: u.role,
      });
    if (me)
      byId.set(me.id, {
        id: me.id,
        username: me.username,
        name: me.displayName || me.username,
        role: me.role,
      });
    const list = [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
    const mine = new Set((myClients.data ?? []).map((c) => c.id));
    return {
      list,
      clients: list.filter(
        (p) => p.role === "client" && (role === "admin" || (role === "manager" && mine.has(p.id))),
      ),
      get: (id: number) => byId.get(id),
      name: (id: number) => byId.get(id)?.name ?? `#${id}`,
    };
  }, [people.data, myClients.data, me, role]);
}
