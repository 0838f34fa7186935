import { useMemo } from "react";
import { useAllUsers } from "./api";

/** Display names of every active user by id (admin pages; one request per role). */
export function useUserNames() {
  const admins = useAllUsers("admin");
  const managers = useAllUsers("manager");
  const clients = useAllUsers("client");
  return useMemo(() => {
    const names = new Map<number, string>();
    for (const list of [admins.data, managers.data, clients.data])
      for (const u of list?.items ?? []) names.set(u.id, u.displayName || u.username);
    return {
      name: (id: number) => names.get(id) ?? `user #${id}`,
      managers: managers.data?.items ?? [],
      admins: admins.data?.items ?? [],
      clients: clients.data?.items ?? [],
    };
  }, [admins.data, managers.data, clients.data]);
}
