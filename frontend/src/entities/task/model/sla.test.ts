import { describe, expect, it } from "vitest";
import { nextSlaChange, slaState } from "./sla";

const created = Date.parse("2026-01-01T00:00:00Z");
// Critical: 4 h target, at risk from 80 % (3 h 12 min).
const task = {
  slaRiskAt: new Date(created + 192 * 60_000).toISOString(),
  slaDueAt: new Date(created + 240 * 60_000).toISOString(),
};

describe("slaState", () => {
  it("is null without an SLA", () => {
    expect(slaState({}, created)).toBeNull();
    expect(slaState({ slaDueAt: null, slaRiskAt: null }, created)).toBeNull();
  });

  it("uses inclusive boundaries like the server", () => {
    expect(slaState(task, created)).toBe("on_track");
    expect(slaState(task, created + 192 * 60_000 - 1)).toBe("on_track");
    expect(slaState(task, created + 192 * 60_000)).toBe("at_risk");
    expect(slaState(task, created + 240 * 60_000 - 1)).toBe("at_risk");
    expect(slaState(task, created + 240 * 60_000)).toBe("breached");
  });

  it("judges a completed task when it was completed", () => {
    const done = { ...task, completedAt: new Date(created + 60_000).toISOString() };
    expect(slaState(done, created + 10 * 3_600_000)).toBe("on_track");
    const late = { ...task, completedAt: new Date(created + 200 * 60_000).toISOString() };
    expect(slaState(late, created + 10 * 3_600_000)).toBe("at_risk");
  });

  it("knows when the state next changes", () => {
    expect(nextSlaChange(task, created)).toBe(192 * 60_000);
    expect(nextSlaChange(task, created + 200 * 60_000)).toBe(40 * 60_000);
    expect(nextSlaChange(task, created + 300 * 60_000)).toBeNull();
    expect(nextSlaChange({ ...task, completedAt: task.slaDueAt }, created)).toBeNull();
  });
});
