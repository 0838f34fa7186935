import { describe, expect, it } from "vitest";
import { visibilityMessage } from "./update-visibility";

describe("visibilityMessage", () => {
  it("says what the client sees", () => {
    expect(visibilityMessage({ id: 3, published: false, logsVisibleToClient: true })).toBe(
      "Run #3 is hidden from the client.",
    );
    expect(visibilityMessage({ id: 3, published: true, logsVisibleToClient: false })).toBe(
      "Run #3 is published to the client (logs hidden).",
    );
    expect(visibilityMessage({ id: 3, published: true, logsVisibleToClient: true })).toBe(
      "Run #3 is published to the client, with its logs.",
    );
  });
});
