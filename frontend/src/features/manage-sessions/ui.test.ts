import { describe, expect, it } from "vitest";
import { describeAgent } from "./ui";

describe("describeAgent", () => {
  it("names browser and system, preferring Edge over the Chrome it claims to be", () => {
    expect(
      describeAgent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0",
      ),
    ).toBe("Edge on Windows");
    expect(
      describeAgent("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"),
    ).toBe("Firefox on Linux");
  });

  it("falls back to the raw agent or a placeholder", () => {
    expect(describeAgent("curl/8.5.0")).toBe("curl");
    expect(describeAgent("custom-bot")).toBe("custom-bot");
    expect(describeAgent(null)).toBe("Unknown device");
  });
});
