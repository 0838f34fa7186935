import { describe, expect, it } from "vitest";
import { bulkFailures, toggleSelection } from "./selection";

const order = [10, 11, 12, 13, 14];

describe("toggleSelection", () => {
  it("toggles one row", () => {
    expect([...toggleSelection(new Set(), order, 12, null, false)]).toEqual([12]);
    expect([...toggleSelection(new Set([12]), order, 12, 12, false)]).toEqual([]);
  });

  it("selects a range from the anchor in either direction", () => {
    expect([...toggleSelection(new Set([11]), order, 13, 11, true)].sort()).toEqual([11, 12, 13]);
    expect([...toggleSelection(new Set([13]), order, 10, 13, true)].sort()).toEqual([
      10, 11, 12, 13,
    ]);
  });

  it("clears a range when the anchor is not selected", () => {
    const all = new Set(order);
    all.delete(10);
    expect([...toggleSelection(all, order, 12, 10, true)].sort()).toEqual([13, 14]);
  });

  it("falls back to a toggle when the anchor left the list", () => {
    expect([...toggleSelection(new Set([99]), order, 12, 99, true)].sort()).toEqual([12, 99]);
  });
});

describe("bulkFailures", () => {
  it("reads the per-task failures and ignores junk", () => {
    expect(
      bulkFailures({
        failures: [{ taskId: 3, code: "not_found", message: "not found" }, { nope: 1 }],
      }),
    ).toEqual([{ taskId: 3, code: "not_found", message: "not found" }]);
    expect(bulkFailures(null)).toEqual([]);
    expect(bulkFailures([{ field: "x" }])).toEqual([]);
  });
});
