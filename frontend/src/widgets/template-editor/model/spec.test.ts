import { describe, expect, it } from "vitest";
import type { Template } from "@/entities/template";
import {
  blankSpec,
  isSpecDirty,
  newParam,
  newPort,
  parseDefault,
  parseOptions,
  patchAt,
  specOf,
  templateSavedMessage,
} from "./spec";

const SERVER_DEFAULTS = {
  defaultLimits: { timeoutSeconds: 300, memoryMib: 512, cpuMillicores: 1000 },
  defaultRetry: { maxAttempts: 1, backoffSeconds: 0, backoffMultiplier: 2 },
};

describe("template spec helpers", () => {
  it("starts a new template from the server's defaults", () => {
    const spec = blankSpec(SERVER_DEFAULTS);
    expect(spec.limits).toEqual(SERVER_DEFAULTS.defaultLimits);
    expect(spec.retry).toEqual(SERVER_DEFAULTS.defaultRetry);
    // A copy: editing the spec does not change the cached server answer.
    spec.limits!.timeoutSeconds = 5;
    expect(SERVER_DEFAULTS.defaultLimits.timeoutSeconds).toBe(300);
  });

  it("strips server fields from a stored version", () => {
    const spec = blankSpec(SERVER_DEFAULTS);
    const stored = {
      ...spec,
      version: 3,
      createdAt: "2024-01-01T00:00:00Z",
      createdBy: 1,
      deleted: false,
      sha256: "ab",
    } as Template;
    expect(specOf(stored)).toEqual(spec);
    expect(isSpecDirty(specOf(stored), spec)).toBe(false);
    expect(isSpecDirty({ ...spec, title: "x" }, spec)).toBe(true);
  });

  it("names new ports and parameters after their position", () => {
    expect(newPort("inputs", 1)).toEqual({
      name: "in2",
      type: "string",
      required: true,
      description: "",
    });
    expect(newPort("outputs", 0)).toMatchObject({ name: "out1", required: false });
    expect(newParam(2)).toMatchObject({ name: "param3", kind: "text", required: false });
  });

  it("patches one item only", () => {
    const list = [{ a: 1 }, { a: 2 }];
    expect(patchAt(list, 1, { a: 5 })).toEqual([{ a: 1 }, { a: 5 }]);
    expect(list[1]).toEqual({ a: 2 });
  });

  it("reads defaults as JSON, falling back to text", () => {
    expect(parseDefault("")).toBeUndefined();
    expect(parseDefault("  ")).toBeUndefined();
    expect(parseDefault("3")).toBe(3);
    expect(parseDefault(" true ")).toBe(true);
    expect(parseDefault('"a"')).toBe("a");
    expect(parseDefault("hello")).toBe("hello");
  });

  it("splits options on commas and drops blanks", () => {
    expect(parseOptions("a, b,,c ,")).toEqual(["a", "b", "c"]);
    expect(parseOptions("")).toEqual([]);
  });

  it("says when a save kept the current version", () => {
    expect(templateSavedMessage({ name: "t", version: 2 }, 2)).toBe(
      "No changes: the current version stays.",
    );
    expect(templateSavedMessage({ name: "t", version: 3 }, 2)).toBe("Saved t v3.");
    expect(templateSavedMessage({ name: "t", version: 1 })).toBe("Saved t v1.");
  });
});
