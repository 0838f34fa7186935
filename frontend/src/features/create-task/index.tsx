import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";
import { Button } from "@/shared/ui";
import { taskKeys } from "@/entities/task";

export function useCreateTask() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["CreateTask"]) => unwrap(api.POST("/api/tasks", { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: taskKeys.lists }),
  });
}

/**
 * Quick add at the bottom of a Kanban column: a title and Enter. Without a
 * client filter on the board, a client picker appears (a task belongs to one
 * client); with a single client it is chosen already.
 */
export function QuickAddTask({
  statusId,
  statusName,
  clients,
  clientId,
}: {
  statusId: number;
  statusName: string;
  clients: { id: number; name: string }[];
  clientId: number | null;
}) {
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState("");
  const [client, setClient] = useState<number | null>(null);
  const create = useCreateTask();
  // Derived on every render: the client list may still be loading when the
  // form mounts, and a lone client must be chosen once it arrives.
  const chosen = clientId ?? client ?? (clients.length === 1 ? clients[0]!.id : null);
  if (!open)
    return (
      <button
        type="button"
        className="w-full rounded-md px-2 py-1.5 text-left text-sm text-slate-600 hover:bg-slate-200/60"
        onClick={() => setOpen(true)}
      >
        + Add task
      </button>
    );
  const submit = () => {
    if (!title.trim() || !chosen) return;
    create.mutate(
      { title: title.trim(), clientId: chosen, statusId },
      { onSuccess: () => setTitle("") },
    );
  };
  return (
    <form
      className="space-y-2 rounded-md bg-white p-2 shadow-sm ring-1 ring-slate-200"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <input
        autoFocus
        className="w-full rounded border border-slate-300 px-2 py-1 text-sm"
        placeholder="Task title"
        aria-label={`New task in ${statusName}`}
        value={title}
        onChange={(e) => setTitle(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") setOpen(false);
        }}
      />
      {clientId == null && clients.length !== 1 && (
        <select
          className="w-full rounded border border-slate-300 px-2 py-1 text-sm"
          aria-label="Client"
          value={client ?? ""}
          onChange={(e) => setClient(Number(e.target.value) || null)}
        >
          <option value="">Choose a client…</option>
          {clients.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      )}
      <div className="flex gap-2">
        <Button type="submit" size="sm" disabled={!title.trim() || !chosen || create.isPending}>
          Add
        </Button>
        <Button type="button" size="sm" variant="ghost" onClick={() => setOpen(false)}>
          Cancel
        </Button>
      </div>
    </form>
  );
}
