import { describe, expect, it } from "vitest";
import type { PortSpec } from "./api";
import { buildSampleInputs, initialSampleText, parseSample, readSampleFile } from "./sample-values";

const port = (name: string, type: PortSpec["type"], extra: Partial<PortSpec> = {}): PortSpec =>
  ({ name, type, required: false, description: "", ...extra }) as PortSpec;

describe("sample values for a template test", () => {
  it("parse each port type and refuse what does not fit", () => {
    expect(parseSample("string", " a ")).toEqual({ value: " a " });
    expect(parseSample("string", "")).toEqual({ empty: true });
    expect(parseSample("number", "2.5")).toEqual({ value: 2.5 });
    expect(parseSample("number", "x")).toEqual({ error: "must be a number" });
    expect(parseSample("integer", "3")).toEqual({ value: 3 });
    expect(parseSample("integer", "3.5")).toEqual({ error: "must be a whole number" });
    expect(parseSample("boolean", "false")).toEqual({ value: false });
    expect(parseSample("array", "[1, 2]")).toEqual({ value: [1, 2] });
    expect(parseSample("array", '{"a": 1}')).toEqual({ error: "must be a JSON array" });
    expect(parseSample("object", "[1]")).toEqual({ error: "must be a JSON object" });
    expect(parseSample("object", "{")).toEqual({ error: "is not valid JSON" });
    expect(parseSample("json", "null")).toEqual({ value: null });
    expect(parseSample("number", "   ")).toEqual({ empty: true });
  });

  it("start from the port default", () => {
    expect(initialSampleText(port("t", "string", { default: "hi" }))).toBe("hi");
    expect(initialSampleText(port("n", "integer", { default: 4 }))).toBe("4");
    expect(initialSampleText(port("o", "object", { default: { a: [1] } }))).toBe('{"a":[1]}');
    expect(initialSampleText(port("x", "string"))).toBe("");
  });

  it("build the inputs body, leaving empty ports out and reporting bad ones by field", () => {
    const ports = [
      port("text", "string"),
      port("n", "integer"),
      port("rows", "array"),
      port("skip", "number"),
      port("doc", "file"),
      port("raw", "binary"),
      port("none", "file"),
    ];
    const ok = buildSampleInputs(
      ports,
      { text: "hey", n: "2", rows: '[{"a":1}]', skip: "" },
      { doc: { name: "a.csv", b64: "YQ==" }, raw: { name: "b.bin", b64: "Yg==" } },
    );
    expect(ok.errors).toEqual({});
    expect(ok.inputs).toEqual({
      text: "hey",
      n: 2,
      rows: [{ a: 1 }],
      doc: { $file: { name: "a.csv", b64: "YQ==" } },
      raw: { $bytes: "Yg==" },
    });
    const bad = buildSampleInputs(ports, { n: "two", rows: "[" }, {});
    expect(bad.errors).toEqual({
      "inputs.n": "must be a whole number",
      "inputs.rows": "is not valid JSON",
    });
  });

  it("read a picked file as base64", async () => {
    const f = new File([new Uint8Array([0, 255, 104, 105])], "x.bin");
    expect(await readSampleFile(f)).toEqual({ name: "x.bin", b64: "AP9oaQ==" });
  });
});
