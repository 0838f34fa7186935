import { describe, expect, it } from "vitest";
import { newestFirst, pickForCompare, restoredMessage } from "./revisions";

describe("revisions", () => {
  it("lists the newest revision first without touching the input", () => {
    const given = [{ revision: 1 }, { revision: 3 }, { revision: 2 }];
    expect(newestFirst(given).map((r) => r.revision)).toEqual([3, 2, 1]);
    expect(given.map((r) => r.revision)).toEqual([1, 3, 2]);
  });

  it("reminds that a restore is not saved yet", () => {
    expect(restoredMessage(4)).toBe("Restored revision 4 into the editor. Save to keep it.");
  });

  it("keeps at most two revisions ticked for comparison", () => {
    expect(pickForCompare([], 3)).toEqual([3]);
    expect(pickForCompare([3], 1)).toEqual([3, 1]);
    expect(pickForCompare([3, 1], 2)).toEqual([1, 2]);
    expect(pickForCompare([1, 2], 1)).toEqual([2]);
  });
});
