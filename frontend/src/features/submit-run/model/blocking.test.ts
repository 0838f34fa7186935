import { describe, expect, it } from "vitest";
import type { Problem } from "@/entities/workflow";
import { blocksRun } from "./blocking";

const problem = (severity: Problem["severity"]): Problem => ({
  severity,
  code: "x",
  message: "x",
});

describe("blocksRun", () => {
  it("blocks on errors only", () => {
    expect(blocksRun([])).toBe(false);
    expect(blocksRun([problem("warning")])).toBe(false);
    expect(blocksRun([problem("warning"), problem("error")])).toBe(true);
  });
});
