import { describe, expect, it } from "vitest";
import { insertMention, mentionAt } from "./mention";

describe("mentions", () => {
  it("finds the name being typed", () => {
    expect(mentionAt("hi @mi", 6)).toEqual({ start: 3, query: "mi" });
    expect(mentionAt("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionAt("(@ana_b", 7)).toEqual({ start: 1, query: "ana_b" });
  });

  it("ignores email addresses and finished words", () => {
    expect(mentionAt("bob@example", 11)).toBeNull();
    expect(mentionAt("@mia please", 11)).toBeNull();
  });

  it("inserts the chosen username", () => {
    expect(insertMention("hi @mi there", 3, 6, "mia")).toEqual({
      text: "hi @mia  there",
      caret: 8,
    });
  });
});
