import { useEffect, useState } from "react";
import { cn } from "@/shared/lib";
import { nextSlaChange, slaLabels, slaState, type SlaInput } from "./model/sla";
import { priorityLabels, type Priority } from "./model/types";

const priorityStyles: Record<Priority, string> = {
  critical: "bg-rose-100 text-rose-800 ring-rose-300",
  high: "bg-orange-50 text-orange-800 ring-orange-200",
  medium: "bg-sky-50 text-sky-800 ring-sky-200",
  low: "bg-slate-50 text-slate-700 ring-slate-200",
};

const priorityIcons: Record<Priority, string> = {
  critical: "▲▲",
  high: "▲",
  medium: "■",
  low: "▼",
};

export function PriorityBadge({ priority }: { priority: Priority }) {
  return (
    <span
      className={cn(
        "inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-[11px] font-medium ring-1 ring-inset",
        priorityStyles[priority],
      )}
      data-testid="priority"
    >
      <span aria-hidden="true" className="text-[8px]">
        {priorityIcons[priority]}
      </span>
      {priorityLabels[priority]}
    </span>
  );
}

const slaStyles = {
  on_track: "bg-emerald-50 text-emerald-800 ring-emerald-200",
  at_risk: "bg-amber-50 text-amber-900 ring-amber-300",
  breached: "bg-rose-600 text-white ring-rose-700",
};

/** Re-renders when the SLA state of `task` next changes. */
function useNow(task: SlaInput): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const wait = nextSlaChange(task, now);
    if (wait == null) return;
    const t = setTimeout(() => setNow(Date.now()), Math.min(wait + 50, 2 ** 31 - 1));
    return () => clearTimeout(t);
  }, [task, now]);
  return now;
}

// One formatter each, built once: `toLocaleString` with options builds a new
// one per call, and a board formats a date or two per card.
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "numeric",
  day: "numeric",
  hour: "numeric",
  minute: "numeric",
  second: "numeric",
});

/** The SLA state (server rule) and the due date, if any. */
export function SlaBadge({ task, dueAt }: { task: SlaInput; dueAt?: string | null }) {
  const now = useNow(task);
  const state = slaState(task, now);
  const due = dueAt ? new Date(dueAt) : null;
  if (!state && !due) return null;
  return (
    <span className="inline-flex items-center gap-1">
      {state && (
        <span
          className={cn(
            "rounded px-1.5 py-0.5 text-[11px] font-medium ring-1 ring-inset",
            slaStyles[state],
          )}
          title={
            task.slaDueAt ? `SLA due ${dateTimeFormat.format(new Date(task.slaDueAt))}` : undefined
          }
          data-testid="sla"
          data-state={state}
        >
          {slaLabels[state]}
        </span>
      )}
      {due && (
        <span
          className={cn(
            "text-[11px]",
            !task.completedAt && due.getTime() < now
              ? "font-medium text-rose-700"
              : "text-slate-600",
          )}
          title={`Due ${dateTimeFormat.format(due)}`}
        >
          Due {dayFormat.format(due)}
        </span>
      )}
    </span>
  );
}

export function StatusChip({ name, isDone }: { name: string; isDone?: boolean }) {
  return (
    <span
      className={cn(
        "inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset",
        isDone
          ? "bg-emerald-50 text-emerald-800 ring-emerald-200"
          : "bg-slate-50 text-slate-700 ring-slate-200",
      )}
    >
      <span
        aria-hidden="true"
        className={cn("h-1.5 w-1.5 rounded-full", isDone ? "bg-emerald-600" : "bg-slate-500")}
      />
      {name}
    </span>
  );
}

const avatarColours = [
  "bg-indigo-100 text-indigo-800",
  "bg-emerald-100 text-emerald-800",
  "bg-amber-100 text-amber-900",
  "bg-sky-100 text-sky-800",
  "bg-rose-100 text-rose-800",
  "bg-violet-100 text-violet-800",
];

export function initials(name: string): string {
  const parts = name
    .replace(/^#/, "")
    .split(/[\s._-]+/)
    .filter(Boolean);
  return ((parts[0]?.[0] ?? "?") + (parts[1]?.[0] ?? "")).toUpperCase();
}

export function Avatar({
  id,
  name,
  size = "sm",
}: {
  id: number;
  name: string;
  size?: "sm" | "md";
}) {
  return (
    <span
      className={cn(
        "grid shrink-0 place-items-center rounded-full font-semibold ring-2 ring-white",
        size === "sm" ? "h-6 w-6 text-[10px]" : "h-8 w-8 text-xs",
        avatarColours[id % avatarColours.length],
      )}
      title={name}
    >
      {initials(name)}
    </span>
  );
}

export function AssigneeAvatars({
  ids,
  name,
  max = 3,
}: {
  ids: number[];
  name: (id: number) => string;
  max?: number;
}) {
  if (!ids.length) return null;
  const shown = ids.slice(0, max);
  const label = `Assigned to ${ids.map(name).join(", ")}`;
  return (
    <span className="flex -space-x-1.5" aria-label={label} role="img">
      {shown.map((id) => (
        <Avatar key={id} id={id} name={name(id)} />
      ))}
      {ids.length > max && (
        <span className="grid h-6 w-6 place-items-center rounded-full bg-slate-200 text-[10px] font-semibold text-slate-700 ring-2 ring-white">
          +{ids.length - max}
        </span>
      )}
    </span>
  );
}

export function TagList({ tags }: { tags: string[] }) {
  if (!tags.length) return null;
  return (
    <span className="flex flex-wrap gap-1">
      {tags.map((t) => (
        <span key={t} className="rounded bg-slate-100 px-1.5 py-0.5 text-[11px] text-slate-700">
          #{t}
        </span>
      ))}
    </span>
  );
}
