import type { PortSpec, PortType } from "./api";

/** A file picked for a `file` or `binary` input, base64-encoded. */
export type SampleFile = { name: string; b64: string };

/** The text a sample field starts with: the port's default, if any. */
export function initialSampleText(port: PortSpec): string {
  const d = port.default;
  if (d === undefined || d === null) return "";
  if (port.type === "string" && typeof d === "string") return d;
  return JSON.stringify(d);
}

export type Parsed = { value: unknown } | { error: string } | { empty: true };

/**
 * Turns the text of a sample field into the JSON value a port of `type`
 * takes. Empty text means "not given" (the port's default applies, or the
 * server reports a required input).
 */
export function parseSample(type: PortType, text: string): Parsed {
  if (type === "string") return text === "" ? { empty: true } : { value: text };
  const t = text.trim();
  if (t === "") return { empty: true };
  switch (type) {
    case "number": {
      const n = Number(t);
      return Number.isFinite(n) ? { value: n } : { error: "must be a number" };
    }
    case "integer": {
      const n = Number(t);
      return Number.isInteger(n) ? { value: n } : { error: "must be a whole number" };
    }
    case "boolean":
      return t === "true" || t === "false" ? { value: t === "true" } : { error: "true or false" };
    case "array":
    case "object":
    case "json": {
      let v: unknown;
      try {
        v = JSON.parse(t);
      } catch {
        return { error: "is not valid JSON" };
      }
      if (type === "array" && !Array.isArray(v)) return { error: "must be a JSON array" };
      if (type === "object" && (v === null || typeof v !== "object" || Array.isArray(v))) {
        return { error: "must be a JSON object" };
      }
      return { value: v };
    }
    default:
      return { error: "pick a file" };
  }
}

/**
 * The `inputs` of a template test from the sample fields (text per port,
 * picked files for `file`/`binary` ports), with a message per field that
 * cannot be parsed. Ports left empty are left out.
 */
export function buildSampleInputs(
  ports: PortSpec[],
  texts: Record<string, string>,
  files: Record<string, SampleFile | undefined>,
): { inputs: Record<string, unknown>; errors: Record<string, string> } {
  const inputs: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const p of ports) {
    if (p.type === "file" || p.type === "binary") {
      const f = files[p.name];
      if (f) inputs[p.name] = p.type === "file" ? { $file: f } : { $bytes: f.b64 };
      continue;
    }
    const r = parseSample(p.type, texts[p.name] ?? initialSampleText(p));
    if ("value" in r) inputs[p.name] = r.value;
    else if ("error" in r) errors[`inputs.${p.name}`] = r.error;
  }
  return { inputs, errors };
}

/** Reads a picked file as base64 (without the data-URL prefix). */
export async function readSampleFile(file: File): Promise<SampleFile> {
  const buf = new Uint8Array(await file.arrayBuffer());
  let bin = "";
  for (let i = 0; i < buf.length; i += 0x8000) {
    bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
  }
  return { name: file.name, b64: btoa(bin) };
}
