import { describe, expect, it } from "vitest";
import type { Task } from "@/entities/task";
import { parseSwimlanes, splitLanes } from "./lanes";

const t = (id: number, priority: Task["priority"], assigneeIds: number[]) =>
  ({ id, priority, assigneeIds }) as Task;
const name = (id: number) => ({ 1: "Zoe", 2: "Ann" })[id] ?? `#${id}`;
const tasks = [t(1, "high", [1]), t(2, "low", []), t(3, "high", [2, 1]), t(4, "critical", [1])];

describe("splitLanes", () => {
  it("puts each card in one priority lane, most urgent first, empty lanes kept", () => {
    const lanes = splitLanes(tasks, "priority", name);
    expect(lanes.map((l) => [l.label, l.tasks.map((x) => x.id)])).toEqual([
      ["Critical", [4]],
      ["High", [1, 3]],
      ["Medium", []],
      ["Low", [2]],
    ]);
  });

  it("groups by first assignee by name, unassigned last", () => {
    const lanes = splitLanes(tasks, "assignee", name);
    expect(lanes.map((l) => [l.label, l.tasks.map((x) => x.id)])).toEqual([
      ["Zoe", [1, 3, 4]],
      ["Unassigned", [2]],
    ]);
  });

  it("has one lane without swimlanes and reads only known values from the URL", () => {
    expect(splitLanes(tasks, "none", name)).toHaveLength(1);
    expect(parseSwimlanes("priority")).toBe("priority");
    expect(parseSwimlanes("<script>")).toBe("none");
    expect(parseSwimlanes(null)).toBe("none");
  });
});
