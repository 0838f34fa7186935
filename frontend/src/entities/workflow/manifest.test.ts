import { describe, expect, it } from "vitest";
import { manifestFileProblem } from "./manifest";

describe("manifestFileProblem", () => {
  it("refuses big, binary and empty files and accepts text", () => {
    expect(manifestFileProblem(3 * 1024 * 1024, "a: 1")).toMatch(/2 MiB/);
    expect(manifestFileProblem(10, "PK\u0003\u0004\u0000\u0000")).toMatch(/binary/);
    expect(manifestFileProblem(2, " \n")).toMatch(/empty/);
    expect(manifestFileProblem(4, "a: 1")).toBeNull();
  });
});
