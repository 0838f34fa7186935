import { priorities, priorityLabels, type Priority, type Task } from "@/entities/task";

export type Swimlanes = "none" | "assignee" | "priority";

export const swimlaneOptions: { id: Swimlanes; label: string }[] = [
  { id: "none", label: "No swimlanes" },
  { id: "assignee", label: "By assignee" },
  { id: "priority", label: "By priority" },
];

export function parseSwimlanes(v: string | null): Swimlanes {
  return v === "assignee" || v === "priority" ? v : "none";
}

export interface Lane {
  key: string;
  label: string;
  tasks: Task[];
}

/**
 * Splits the board's tasks into horizontal lanes. A card is in exactly one
 * lane (so it stays one focusable, draggable element): by priority, or by
 * its first assignee (lowest id), unassigned last. Empty priority lanes
 * are kept so every priority has a place to be seen.
 */
export function splitLanes(tasks: Task[], by: Swimlanes, name: (id: number) => string): Lane[] {
  if (by === "none") return [{ key: "all", label: "", tasks }];
  if (by === "priority") {
    const m = new Map<Priority, Task[]>(priorities.map((p) => [p, []]));
    for (const t of tasks) m.get(t.priority)!.push(t);
    return priorities.map((p) => ({ key: p, label: priorityLabels[p], tasks: m.get(p)! }));
  }
  const m = new Map<number | null, Task[]>();
  for (const t of tasks) {
    const k = t.assigneeIds.length ? Math.min(...t.assigneeIds) : null;
    const lane = m.get(k) ?? [];
    lane.push(t);
    m.set(k, lane);
  }
  return [...m.entries()]
    .map(([k, ts]) => ({
      key: k == null ? "none" : String(k),
      label: k == null ? "Unassigned" : name(k),
      tasks: ts,
    }))
    .sort((a, b) =>
      a.key === "none" ? 1 : b.key === "none" ? -1 : a.label.localeCompare(b.label),
    );
}
