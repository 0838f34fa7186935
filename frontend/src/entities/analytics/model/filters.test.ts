import { describe, expect, it } from "vitest";
import { filtersFromSearch, filtersToQuery, filtersToSearch } from "./filters";

describe("analytics filters", () => {
  it("default to the last 30 days by day", () => {
    const f = filtersFromSearch(new URLSearchParams(""));
    expect(f).toEqual({ range: "30d", bucket: "day" });
    expect(filtersToSearch(f).toString()).toBe("");
  });
  it("round-trip a custom range and the filters through the URL", () => {
    const s = "from=2026-03-01&to=2026-03-31&bucket=week&client=4&assignee=7&workflow=9";
    const f = filtersFromSearch(new URLSearchParams(s));
    expect(f).toEqual({
      from: "2026-03-01",
      to: "2026-03-31",
      bucket: "week",
      clientId: 4,
      assigneeId: 7,
      workflowId: 9,
    });
    expect(filtersToSearch(f).toString()).toBe(s);
  });
  it("ignore malformed values", () => {
    const f = filtersFromSearch(
      new URLSearchParams("from=yesterday&to=2026-01-01&range=8d&client=x"),
    );
    expect(f).toEqual({ range: "30d", bucket: "day" });
  });
  it("leave the assignee out of run queries", () => {
    const f = filtersFromSearch(new URLSearchParams("range=7d&assignee=3&client=2"));
    expect(filtersToQuery(f, "Europe/Paris", "runs")).toEqual({
      range: "7d",
      bucket: "day",
      tz: "Europe/Paris",
      clientId: 2,
      assigneeId: undefined,
      workflowId: undefined,
    });
    expect(filtersToQuery(f, "UTC", "tasks").assigneeId).toBe(3);
  });
});
