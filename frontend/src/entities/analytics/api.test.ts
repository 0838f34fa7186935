import { QueryClient } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import { analyticsKeys, prefetchAnalytics } from "./api";
import { browserTimeZone, filtersFromSearch, filtersToQuery } from "./model/filters";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("prefetchAnalytics", () => {
  it("starts the two requests under the keys the dashboard asks for", () => {
    const fetch = vi.fn(() => new Promise<Response>(() => {}));
    vi.stubGlobal("fetch", fetch);
    const qc = new QueryClient();
    const search = new URLSearchParams("range=90d&client=7&assignee=3");
    prefetchAnalytics(qc, search);
    // The dashboard's own keys: from the same URL, in the browser's zone.
    const f = filtersFromSearch(search);
    const tz = browserTimeZone();
    for (const key of [
      analyticsKeys.tasks(filtersToQuery(f, tz, "tasks")),
      analyticsKeys.runs(filtersToQuery(f, tz, "runs")),
    ]) {
      expect(qc.getQueryState(key)?.fetchStatus).toBe("fetching");
    }
    expect(qc.getQueryCache().getAll()).toHaveLength(2);
  });
});
