import { describe, expect, it } from "vitest";
import type { Task } from "@/entities/task";
import { DAY_MS, draggedDue, timelineLayout } from "./layout";

const now = Date.parse("2026-03-10T12:00:00Z");
const task = (id: number, assigneeIds: number[], due: string | null): Task =>
  ({
    id,
    assigneeIds,
    dueAt: due,
    createdAt: "2026-03-09T08:00:00Z",
  }) as Task;

describe("timelineLayout", () => {
  it("groups dated tasks by assignee, unassigned last, and counts undated ones", () => {
    const l = timelineLayout(
      [
        task(1, [7], "2026-03-12T17:00:00Z"),
        task(2, [], "2026-03-11T17:00:00Z"),
        task(3, [5, 7], "2026-03-11T17:00:00Z"),
        task(4, [5], null),
      ],
      now,
    );
    expect(l.lanes.map((x) => [x.assigneeId, x.tasks.map((t) => t.id)])).toEqual([
      [5, [3]],
      [7, [3, 1]],
      [null, [2]],
    ]);
    expect(l.undated).toBe(1);
    expect(l.from).toBe(Date.parse("2026-03-09T00:00:00Z"));
    expect(l.days).toBeGreaterThanOrEqual(14);
  });
});

describe("draggedDue", () => {
  const t = task(1, [], "2026-03-12T17:00:00Z");
  it("moves by whole days and keeps the time of day", () => {
    expect(draggedDue(t, 3 * 28 + 5, 28)).toBe("2026-03-15T17:00:00.000Z");
    expect(draggedDue(t, -28, 28)).toBe("2026-03-11T17:00:00.000Z");
    expect(draggedDue(t, 10, 28)).toBe("2026-03-12T17:00:00.000Z");
  });
  it("never ends before the day the bar starts", () => {
    expect(Date.parse(draggedDue(t, -50 * 28, 28))).toBe(Date.parse("2026-03-09T17:00:00Z"));
    expect(Date.parse(draggedDue(t, -50 * 28, 28)) % DAY_MS).toBe(17 * 3600 * 1000);
  });
});
