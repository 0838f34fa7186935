import type { Task } from "@/entities/task";

export const DAY_MS = 86_400_000;
/** The longest span the timeline draws, so one far-off date cannot make it unusable. */
export const MAX_DAYS = 366;

export interface Lane {
  /** Assignee id; null for unassigned tasks. */
  assigneeId: number | null;
  tasks: Task[];
}

/** Midnight UTC of the day `ms` falls in. */
export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * Groups dated tasks by assignee (a task with two assignees is in both
 * lanes; unassigned last) and finds the days the axis spans.
 */
export function timelineLayout(tasks: Task[], now: number) {
  const dated = tasks.filter((t) => t.dueAt);
  const lanes = new Map<number | null, Task[]>();
  for (const t of dated) {
    const keys = t.assigneeIds.length ? t.assigneeIds : [null];
    for (const k of keys) {
      const lane = lanes.get(k) ?? [];
      lane.push(t);
      lanes.set(k, lane);
    }
  }
  let from = dayStart(now);
  let to = from + 14 * DAY_MS;
  for (const t of dated) {
    from = Math.min(from, dayStart(barStart(t)));
    to = Math.max(to, dayStart(Date.parse(t.dueAt!)) + DAY_MS);
  }
  // Keep the axis bounded around today.
  from = Math.max(from, dayStart(now) - 120 * DAY_MS);
  to = Math.min(to + 7 * DAY_MS, from + MAX_DAYS * DAY_MS);
  const ordered: Lane[] = [...lanes.entries()]
    .sort(([a], [b]) => (a == null ? 1 : b == null ? -1 : a - b))
    .map(([assigneeId, ts]) => ({
      assigneeId,
      tasks: ts.sort((x, y) => Date.parse(x.dueAt!) - Date.parse(y.dueAt!)),
    }));
  return {
    lanes: ordered,
    from,
    days: Math.round((to - from) / DAY_MS),
    undated: tasks.length - dated.length,
  };
}

/** A bar starts when the task was created (tasks have no separate start date). */
export function barStart(t: Task): number {
  return Date.parse(t.createdAt);
}

/**
 * The due date after dragging the bar's end by `dx` pixels: whole days, the
 * time of day kept, never before the bar's start day.
 */
export function draggedDue(t: Task, dx: number, dayWidth: number): string {
  const due = Date.parse(t.dueAt!);
  let days = Math.round(dx / dayWidth);
  const earliest = dayStart(barStart(t));
  while (days < 0 && dayStart(due + days * DAY_MS) < earliest) days++;
  return new Date(due + days * DAY_MS).toISOString();
}
