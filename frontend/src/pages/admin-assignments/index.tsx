import { useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
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

  /** Links or unlinks a client of the picked manager (tick, untick or drop). */
  function toggle(c: User, linked: boolean) {
    const m = managers.data?.items.find((x) => x.id === managerId);
    if (!m) return;
    setPending((p) => ({ ...p, [c.id]: linked }));
    setAssignment.mutate(
      { managerId: m.id, clientId: c.id, linked },
      {
        onSettled: () => setPending(({ [c.id]: _, ...rest }) => rest),
        onSuccess: () =>
          toast.success(
            linked
              ? `${c.displayName} assigned to ${m.displayName}.`
              : `${c.displayName} unassigned from ${m.displayName}.`,
          ),
      },
    );
  }

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
        A manager sees and builds workflows only for the clients assigned here: tick a client, or
        drag it between the two lists.
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
            <ManagerListbox
              managers={managers.data.items}
              selectedId={managerId}
              onSelect={setManagerId}
            />
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
          ) : (
            <div className="grid gap-px bg-slate-200 sm:grid-cols-2">
              {[true, false].map((linkedList) => {
                const items = visibleClients.filter(
                  (c) => (pending[c.id] ?? assignedIds.has(c.id)) === linkedList,
                );
                const title = linkedList
                  ? `Assigned to ${manager.displayName}`
                  : `Not assigned to ${manager.displayName}`;
                return (
                  <ClientList
                    key={String(linkedList)}
                    title={title}
                    testId={linkedList ? "assigned-clients" : "other-clients"}
                    onDropClient={(id) => {
                      const c = clients.data.items.find((x) => x.id === id);
                      if (c && (pending[c.id] ?? assignedIds.has(c.id)) !== linkedList) {
                        toggle(c, linkedList);
                      }
                    }}
                  >
                    {items.length === 0 ? (
                      <li className="px-3 py-4 text-center text-xs text-slate-500">
                        {q
                          ? "No clients match."
                          : linkedList
                            ? "None yet. Tick a client or drag one here."
                            : clients.data.items.length
                              ? "Every client is assigned. Drag one here to unassign it."
                              : "No clients yet."}
                      </li>
                    ) : (
                      items.map((c) => (
                        <li
                          key={c.id}
                          draggable
                          onDragStart={(e) => {
                            e.dataTransfer.setData(CLIENT_MIME, String(c.id));
                            e.dataTransfer.effectAllowed = "move";
                          }}
                          className="flex cursor-grab items-center gap-2 px-3 py-2 active:cursor-grabbing"
                          data-testid={`client-${c.username}`}
                        >
                          <span aria-hidden className="select-none text-slate-300">
                            ⠿
                          </span>
                          <Checkbox
                            label={
                              <span>
                                {c.displayName}{" "}
                                <span className="text-xs text-slate-500">@{c.username}</span>
                              </span>
                            }
                            checked={linkedList}
                            onChange={(e) => toggle(c, e.target.checked)}
                          />
                          <button
                            className="ml-auto text-xs text-indigo-600 hover:underline"
                            onClick={() => setClientId(c.id)}
                          >
                            Managers of this client
                          </button>
                        </li>
                      ))
                    )}
                  </ClientList>
                );
              })}
            </div>
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

/**
 * The managers as a single-select listbox: the options themselves take focus
 * (one tab stop, on the picked manager or the first), arrow keys, Home and End
 * move between them, and Enter, Space or a click picks one.
 */
function ManagerListbox({
  managers,
  selectedId,
  onSelect,
}: {
  managers: User[];
  selectedId: number | null;
  onSelect: (id: number) => void;
}) {
  const refs = useRef<(HTMLLIElement | null)[]>([]);
  const selectedIndex = managers.findIndex((m) => m.id === selectedId);
  const tabStop = selectedIndex >= 0 ? selectedIndex : 0;

  function onKeyDown(e: KeyboardEvent<HTMLLIElement>, index: number) {
    const last = managers.length - 1;
    const target =
      e.key === "ArrowDown"
        ? Math.min(index + 1, last)
        : e.key === "ArrowUp"
          ? Math.max(index - 1, 0)
          : e.key === "Home"
            ? 0
            : e.key === "End"
              ? last
              : null;
    if (target != null) {
      e.preventDefault();
      refs.current[target]?.focus();
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onSelect(managers[index]!.id);
    }
  }

  return (
    <ul role="listbox" aria-label="Managers">
      {managers.map((m, i) => (
        <li
          key={m.id}
          ref={(el) => {
            refs.current[i] = el;
          }}
          role="option"
          aria-selected={m.id === selectedId}
          tabIndex={i === tabStop ? 0 : -1}
          onClick={() => onSelect(m.id)}
          onKeyDown={(e) => onKeyDown(e, i)}
          className={cn(
            "w-full cursor-pointer px-3 py-2 text-left text-sm hover:bg-slate-50 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-600",
            m.id === selectedId && "bg-indigo-50 font-medium text-indigo-800",
          )}
        >
          {m.displayName} <span className="text-xs text-slate-600">@{m.username}</span>
        </li>
      ))}
    </ul>
  );
}

/** Drag payload: a client's user id. */
const CLIENT_MIME = "application/x-katalusis-client";

/** One of the two client lists of the picked manager; a client dropped on it moves to it. */
function ClientList({
  title,
  testId,
  onDropClient,
  children,
}: {
  title: string;
  testId: string;
  onDropClient: (clientId: number) => void;
  children: ReactNode;
}) {
  const [over, setOver] = useState(false);
  return (
    <div
      className={cn("min-h-40 bg-white", over && "bg-indigo-50 ring-2 ring-inset ring-indigo-400")}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes(CLIENT_MIME)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "move";
        setOver(true);
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const id = Number(e.dataTransfer.getData(CLIENT_MIME));
        if (id) onDropClient(id);
      }}
      data-testid={testId}
    >
      <h3 className="border-b border-slate-100 px-3 py-1.5 text-xs font-medium text-slate-600">
        {title}
      </h3>
      <ul className="divide-y divide-slate-100" aria-label={title}>
        {children}
      </ul>
    </div>
  );
}

function matches(u: User, q: string) {
  return !q || u.displayName.toLowerCase().includes(q) || u.username.toLowerCase().includes(q);
}
