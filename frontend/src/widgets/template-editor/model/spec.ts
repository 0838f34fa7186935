import type {
  LimitSettings,
  ParamSpec,
  PortSpec,
  Template,
  TemplateSpec,
} from "@/entities/template";

const NEW_CODE = `def run(inputs, params, ctx):
    ctx.log("processing")
    return {"result": inputs["value"]}
`;

/**
 * What "New node" starts from: one input passed through to one output, with
 * the server's default limits and retry policy (`GET /api/admin/settings/limits`),
 * so a template saved from the editor matches one created through the API.
 */
export function blankSpec(
  defaults: Pick<LimitSettings, "defaultLimits" | "defaultRetry">,
): TemplateSpec {
  return {
    name: "",
    title: "",
    description: "",
    category: "",
    code: NEW_CODE,
    executionMode: "sync",
    trustLevel: "restricted",
    inputs: [{ name: "value", type: "string", required: true, description: "" }],
    outputs: [{ name: "result", type: "string", required: false, description: "" }],
    parameters: [],
    limits: { ...defaults.defaultLimits },
    retry: { ...defaults.defaultRetry },
  } as TemplateSpec;
}

/** The editable spec of a stored version, without what the server adds to it. */
export function specOf(template: Template): TemplateSpec {
  const { version, createdAt, createdBy, deleted, sha256, ...spec } = template;
  void version;
  void createdAt;
  void createdBy;
  void deleted;
  void sha256;
  return spec;
}

export function isSpecDirty(spec: TemplateSpec, initial: TemplateSpec): boolean {
  return JSON.stringify(spec) !== JSON.stringify(initial);
}

export type PortSide = "inputs" | "outputs";

/** A fresh port named after its position; inputs start required, outputs cannot be. */
export function newPort(side: PortSide, existing: number): PortSpec {
  return {
    name: `${side === "inputs" ? "in" : "out"}${existing + 1}`,
    type: "string",
    required: side === "inputs",
    description: "",
  };
}

export function newParam(existing: number): ParamSpec {
  return {
    name: `param${existing + 1}`,
    label: "",
    kind: "text",
    required: false,
    help: "",
    options: [],
  } as ParamSpec;
}

/** A copy of `list` with item `i` patched. */
export function patchAt<T>(list: readonly T[], i: number, patch: Partial<T>): T[] {
  return list.map((x, j) => (j === i ? { ...x, ...patch } : x));
}

/**
 * A parameter default as typed: JSON when it parses, otherwise the plain
 * text, so `hello` need not be written as `"hello"`. Empty means no default.
 */
export function parseDefault(raw: string): unknown {
  const text = raw.trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function parseOptions(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Saving an unchanged spec keeps the current version; the server says so by its number. */
export function templateSavedMessage(saved: { name: string; version: number }, editing?: number) {
  return saved.version === editing
    ? "No changes: the current version stays."
    : `Saved ${saved.name} v${saved.version}.`;
}
