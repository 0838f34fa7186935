import { useEffect, useState } from "react";
import {
  emptyFilters,
  hasFilters,
  priorities,
  priorityLabels,
  type Priority,
  type TaskFilters,
  type TaskStatus,
} from "@/entities/task";
import type { Person } from "@/entities/user";
import { useDebounced } from "@/shared/lib";

const field = "rounded-md border border-slate-300 bg-white px-2 py-1 text-sm";

/** Filters shared by the board, list and timeline; the page keeps them in the URL. */
export function FilterBar({
  filters,
  onChange,
  statuses,
  people,
  clients,
}: {
  filters: TaskFilters;
  onChange: (f: TaskFilters) => void;
  statuses: TaskStatus[];
  people: Person[];
  clients: Person[] | null;
}) {
  const [q, setQ] = useState(filters.q);
  const [tag, setTag] = useState(filters.tag);
  const dq = useDebounced(q, 250);
  const dtag = useDebounced(tag, 250);
  useEffect(() => {
    if (dq !== filters.q || dtag !== filters.tag) onChange({ ...filters, q: dq, tag: dtag });
    // Only the debounced text drives this; the other filters change directly.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dq, dtag]);
  return (
    <div className="flex flex-wrap items-center gap-2" role="search" aria-label="Filter tasks">
      <input
        className={`${field} w-56`}
        type="search"
        placeholder="Search title or key"
        aria-label="Search"
        value={q}
        onChange={(e) => setQ(e.target.value)}
      />
      <select
        className={field}
        aria-label="Status filter"
        value={filters.status[0] ?? ""}
        onChange={(e) =>
          onChange({ ...filters, status: e.target.value ? [Number(e.target.value)] : [] })
        }
      >
        <option value="">All statuses</option>
        {statuses.map((s) => (
          <option key={s.id} value={s.id ?? 0}>
            {s.name}
          </option>
        ))}
      </select>
      <select
        className={field}
        aria-label="Priority filter"
        value={filters.priority[0] ?? ""}
        onChange={(e) =>
          onChange({ ...filters, priority: e.target.value ? [e.target.value as Priority] : [] })
        }
      >
        <option value="">All priorities</option>
        {priorities.map((p) => (
          <option key={p} value={p}>
            {priorityLabels[p]}
          </option>
        ))}
      </select>
      <select
        className={field}
        aria-label="Assignee filter"
        value={filters.assigneeId ?? ""}
        onChange={(e) => onChange({ ...filters, assigneeId: Number(e.target.value) || null })}
      >
        <option value="">Anyone</option>
        {people.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
      <input
        className={`${field} w-28`}
        placeholder="Tag"
        aria-label="Tag filter"
        value={tag}
        onChange={(e) => setTag(e.target.value)}
      />
      {clients && (
        <select
          className={field}
          aria-label="Client filter"
          value={filters.clientId ?? ""}
          onChange={(e) => onChange({ ...filters, clientId: Number(e.target.value) || null })}
        >
          <option value="">All clients</option>
          {clients.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      )}
      {hasFilters(filters) && (
        <button
          type="button"
          className="text-sm text-indigo-700 underline"
          onClick={() => {
            setQ("");
            setTag("");
            onChange(emptyFilters);
          }}
        >
          Clear filters
        </button>
      )}
    </div>
  );
}
