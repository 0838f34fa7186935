import { describe, expect, it } from "vitest";
import type { TemplateParameter } from "@/entities/workflow-template";
import {
  addName,
  buildParamValues,
  initialParamValues,
  namesIn,
  paramInput,
  sortInstantiateErrors,
} from "./values";

const param = (name: string, extra: Partial<TemplateParameter> = {}): TemplateParameter => ({
  name,
  label: name,
  target: `node.params.${name}`,
  ...extra,
});

const approvers = param("approvers", { target: "approve.params.approvers", required: true });
const threshold = param("threshold", { default: "amount > 1000", required: true });
const timeout = param("timeout", { default: 3600 });
const strict = param("strict", { default: false });
const extra = param("extra", { default: { a: 1 } });
const zone = param("timezone", { target: "triggers.0.timezone", default: "UTC" });

describe("paramInput", () => {
  it("reads the kind of control from the default and the target", () => {
    expect([approvers, threshold, timeout, strict, extra, zone].map(paramInput)).toEqual([
      "people",
      "text",
      "number",
      "boolean",
      "json",
      "timezone",
    ]);
  });
});

describe("initialParamValues", () => {
  it("prefills defaults as text and leaves the rest blank", () => {
    expect(initialParamValues([approvers, threshold, timeout, strict, extra])).toEqual({
      approvers: "",
      threshold: "amount > 1000",
      timeout: "3600",
      strict: "false",
      extra: '{"a":1}',
    });
  });
});

describe("buildParamValues", () => {
  it("types each value like its default and leaves blanks out for the server to judge", () => {
    expect(
      buildParamValues([approvers, threshold, timeout, strict, extra], {
        approvers: "  ",
        threshold: " amount > 5 ",
        timeout: "60",
        strict: "true",
        extra: "[1,2]",
      }),
    ).toEqual({
      values: { threshold: "amount > 5", timeout: 60, strict: true, extra: [1, 2] },
      errors: {},
    });
  });

  it("refuses text that is not of its type", () => {
    expect(buildParamValues([timeout, extra], { timeout: "soon", extra: "{" }).errors).toEqual({
      timeout: "must be a number",
      extra: "must be JSON",
    });
  });
});

describe("sortInstantiateErrors", () => {
  it("puts each field error next to its field and keeps the rest for the form", () => {
    expect(
      sortInstantiateErrors(
        [
          { field: "values.approvers", message: "is required" },
          { field: "name", message: "must be 1 to 200 characters" },
          { field: "clientId", message: "is not your client" },
          { field: "triggers[0]", message: "is not a trigger" },
          { severity: "error", code: "missing_input", message: "rows needs text" },
          { field: "values.unknown", message: "is not a parameter" },
        ],
        [approvers, threshold],
      ),
    ).toEqual({
      params: { approvers: "is required" },
      name: "must be 1 to 200 characters",
      clientId: "is not your client",
      other: [
        "triggers[0]: is not a trigger",
        "rows needs text",
        "values.unknown: is not a parameter",
      ],
    });
  });

  it("answers nothing for details it cannot read", () => {
    expect(sortInstantiateErrors(undefined, [])).toEqual({ params: {}, other: [] });
  });
});

describe("names", () => {
  it("splits on commas, semicolons and spaces and adds a name once", () => {
    expect(namesIn(" ana, bob;carol  dan@example.com ,")).toEqual([
      "ana",
      "bob",
      "carol",
      "dan@example.com",
    ]);
    expect(addName("ana", "bob")).toBe("ana, bob");
    expect(addName("", "bob")).toBe("bob");
    expect(addName("ana, Bob", "bob")).toBe("ana, Bob");
  });
});
