import { useMemo, useState } from "react";
import { cn, useDebounced } from "@/shared/lib";
import {
  Checkbox,
  EmptyState,
  ErrorState,
  Input,
  LoadingState,
  PageHeader,
  toast,
} from "@/shared/ui";
import {
  useAllUsers,
  useClientsOfManager,
  useManagersOfClient,
  useSetAssignment,
  type User,
} from "@/entities/user";

export default function AdminAssignmentsPage() {
  const managers = useAllUsers("manager");
  const clients = useAllUsers("client");
  const [managerId, setManagerId] = useState<number | null>(null);
  const [clientId, setClientId] = useState<number | null>(null);
  const [filter, setFilter] = useState("");
  const q = useDebounced(filter, 100).toLowerCase();
  const assigned = useClientsOfManager(managerId);
  const managersOfClient = useManagersOfClient(clientId);
  const setAssignment = useSetAssignment();
  // Ticks show at once; the server's answer (or a rollback on error) follows.
  const [pending, setPending] = useState<Record<number, boolean>>({});
  const assignedIds = useMemo(
    () => new Set((assigned.data ?? []).map((c) => c.id)),
    [assigned.data],
  );

  if (managers.isPending || clients.isPending) return <LoadingState />;
  if (managers.isError)
    return <ErrorState error={managers.error} onRetry={() => managers.refetch()} />;
  if (clients.isError)
    return <ErrorState error={clients.error} onRetry={() => clients.refetch()} />;
  const manager = managers.data.items.find((m) => m.id === managerId);
  const visibleClients = clients.data.items.filter((c) => matches(c, q));

  return (
    <>
      <PageHeader title="Assignments">
        A manager sees and builds workflows only for the clients ticked here.
      </PageHeader>
      <div className="grid gap-4 md:grid-cols-[18rem_1fr]">
        <section
          className="rounded-lg border border-slate-200 bg-white"
          aria-labelledby="managers-h"
        >
          <h2
            id="managers-h"
            className="border-b border-slate-200 px-3 py-2 text-xs font-semibold uppercase text-slate-500"
          >
            Managers
          </h2>
          {managers.data.items.length === 0 ? (
            <p className="p-4 text-sm text-slate-500">No managers yet. Create one under Users.</p>
          ) : (
            <ul role="listbox" aria-label="Managers">
              {managers.data.items.map((m) => (
                <li key={m.id}>
                  <button
                    role="option"
                    aria-selected={m.id === managerId}
                    onClick={() => setManagerId(m.id)}
                    className={cn(
                      "w-full px-3 py-2 text-left text-sm hover:bg-slate-50",
                      m.id === managerId && "bg-indigo-50 font-medium text-indigo-800",
                    )}
                  >
                    {m.displayName} <span className="text-xs text-slate-400">@{m.username}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section
          className="rounded-lg border border-slate-200 bg-white"
          aria-labelledby="clients-h"
        >
          <div className="flex items-center justify-between gap-3 border-b border-slate-200 px-3 py-2">
            <h2 id="clients-h" className="text-xs font-semibold uppercase text-slate-500">
              {manager ? `Clients of ${manager.displayName}` : "Clients"}
            </h2>
            <Input
              aria-label="Filter clients"
              placeholder="Filter clients…"
              className="max-w-56 py-1"
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
            />
          </div>
          {!manager ? (
            <div className="p-4">
              <EmptyState title="Pick a manager on the left to tick their clients." />
            </div>
          ) : assigned.isPending ? (
            <LoadingState />
          ) : visibleClients.length === 0 ? (
            <p className="p-4 text-sm text-slate-500">No clients{q ? " match" : " yet"}.</p>
          ) : (
            <ul className="divide-y divide-slate-100">
              {visibleClients.map((c) => (
                <li key={c.id} className="flex items-center justify-between px-3 py-2">
                  <Checkbox
                    label={
                      <span>
                        {c.displayName}{" "}
                        <span className="text-xs text-slate-400">@{c.username}</span>
                      </span>
                    }
                    checked={pending[c.id] ?? assignedIds.has(c.id)}
                    onChange={(e) => {
                      const linked = e.target.checked;
                      setPending((p) => ({ ...p, [c.id]: linked }));
                      setAssignment.mutate(
                        { managerId: manager.id, clientId: c.id, linked },
                        {
                          onSettled: () => setPending(({ [c.id]: _, ...rest }) => rest),
                          onSuccess: () =>
                            toast.success(
                              linked
                                ? `${c.displayName} assigned to ${manager.displayName}.`
                                : `${c.displayName} unassigned from ${manager.displayName}.`,
                            ),
                        },
                      );
                    }}
                  />
                  <button
                    className="text-xs text-indigo-600 hover:underline"
                    onClick={() => setClientId(c.id)}
                  >
                    Managers of this client
                  </button>
                </li>
              ))}
            </ul>
          )}
          {clientId != null && (
            <div
              className="border-t border-slate-200 bg-slate-50 px-3 py-2 text-sm"
              data-testid="managers-of-client"
            >
              <span className="font-medium">
                {clients.data.items.find((c) => c.id === clientId)?.displayName}
              </span>{" "}
              is managed by{" "}
              {managersOfClient.isPending
                ? "…"
                : (managersOfClient.data ?? []).map((m) => m.displayName).join(", ") ||
                  "nobody yet"}
              .
            </div>
          )}
        </section>
      </div>
    </>
  );
}

function matches(u: User, q: string) {
  return !q || u.displayName.toLowerCase().includes(q) || u.username.toLowerCase().includes(q);
}
