import { describe, expect, it } from "vitest";
import { summary } from "./ui";

describe("summary", () => {
  it("counts each outcome of an install", () => {
    expect(
      summary({
        created: ["csv.read", "csv.write"],
        updated: [],
        unchanged: ["table.sort"],
        skipped: [{ name: "text.join", reason: "deleted_locally", message: "deleted" }],
      }),
    ).toBe("Starter library: 2 created, 0 updated, 1 unchanged, 1 skipped.");
  });
});
