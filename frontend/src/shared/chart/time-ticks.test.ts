import { describe, expect, it } from "vitest";
import { tickLabel, timeTicks } from "./time-ticks";

const utc = (s: string) => Date.parse(s) / 1000;

// vitest runs with TZ=UTC unless told otherwise; the daylight-saving case
// below only asserts what holds in any zone.
describe("timeTicks", () => {
  it("puts a 30-day window's ticks on midnights, a few days apart, never seconds apart", () => {
    const start = utc("2026-11-01T00:00:00Z");
    const end = utc("2026-12-01T00:00:00Z");
    const t = timeTicks(start, end);
    expect(t.unit).toBe("day");
    expect(t.at.length).toBeGreaterThanOrEqual(3);
    expect(t.at.length).toBeLessThanOrEqual(8);
    for (const a of t.at) {
      expect(a).toBeGreaterThanOrEqual(start);
      expect(a).toBeLessThanOrEqual(end);
      const d = new Date(a * 1000);
      expect([d.getHours(), d.getMinutes(), d.getSeconds()]).toEqual([0, 0, 0]);
    }
    const gaps = t.at.slice(1).map((a, i) => a - t.at[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(6 * 86400);
  });

  it("labels days with their date and short windows with the time of day", () => {
    const day = timeTicks(utc("2026-03-01T00:00:00Z"), utc("2026-03-08T00:00:00Z"));
    expect(day.unit).toBe("day");
    expect(tickLabel(day.at[0]!, day.unit)).not.toMatch(/:/);
    const hour = timeTicks(utc("2026-03-01T00:00:00Z"), utc("2026-03-02T00:00:00Z"));
    expect(hour.unit).toBe("hour");
    expect(hour.at.length).toBeLessThanOrEqual(8);
    expect(tickLabel(hour.at[1]!, hour.unit)).toMatch(/\d{2}:00/);
  });

  it("a 90-day window steps by whole weeks or more; an empty window has no ticks", () => {
    const t = timeTicks(utc("2026-09-01T00:00:00Z"), utc("2026-11-30T00:00:00Z"));
    expect(t.at.length).toBeLessThanOrEqual(8);
    expect(t.at[1]! - t.at[0]!).toBeGreaterThanOrEqual(14 * 86400 - 3600);
    expect(timeTicks(10, 10).at).toEqual([]);
  });
});
