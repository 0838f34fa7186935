import { describe, expect, it } from "vitest";
import {
  emptyFilters,
  filtersFromSearch,
  filtersToQuery,
  filtersToSearch,
  hasFilters,
} from "./filters";

describe("filters and the URL", () => {
  it("round-trips every filter and keeps other parameters", () => {
    const f = {
      status: [1, 3],
      priority: ["high" as const, "critical" as const],
      assigneeId: 7,
      tag: "ops",
      clientId: 4,
      q: "invoice audit",
      importId: 12,
    };
    const search = filtersToSearch(f, new URLSearchParams("view=list&task=9"));
    expect(search.get("view")).toBe("list");
    expect(search.get("task")).toBe("9");
    expect(search.toString()).toContain("status=1%2C3");
    expect(filtersFromSearch(search)).toEqual(f);
  });

  it("leaves no parameter for an empty filter", () => {
    expect(filtersToSearch(emptyFilters, new URLSearchParams("status=1&q=x")).toString()).toBe("");
    expect(hasFilters(emptyFilters)).toBe(false);
  });

  it("drops malformed values", () => {
    const f = filtersFromSearch(
      new URLSearchParams("status=1,x,-2&priority=urgent,low&assignee=abc&client=0"),
    );
    expect(f).toEqual({ ...emptyFilters, status: [1], priority: ["low"] });
  });

  it("maps to the API query", () => {
    expect(filtersToQuery({ ...emptyFilters, status: [2], q: "  " })).toEqual({
      status: "2",
      priority: undefined,
      assigneeId: undefined,
      tag: undefined,
      clientId: undefined,
      q: undefined,
      source: undefined,
      sourceRefId: undefined,
    });
    expect(filtersToQuery({ ...emptyFilters, importId: 5 })).toMatchObject({
      source: "import",
      sourceRefId: 5,
    });
  });
});
