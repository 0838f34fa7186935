import type { TemplateParameter } from "@/entities/workflow-template";

/** How a parameter is asked for. The API gives no type, so it is read from the default and the target. */
export type ParamInput = "text" | "number" | "boolean" | "json" | "timezone" | "people";

const PEOPLE_PARAMS = /\.params\.(approvers|recipients|assignees|escalateTo)$/;

export function paramInput(p: TemplateParameter): ParamInput {
  if (typeof p.default === "boolean") return "boolean";
  if (typeof p.default === "number") return "number";
  if (p.default !== null && typeof p.default === "object") return "json";
  if (/(^|\.)timezone$/.test(p.target)) return "timezone";
  if (PEOPLE_PARAMS.test(p.target)) return "people";
  return "text";
}

/** The form's text for each parameter, defaults filled in. */
export function initialParamValues(params: TemplateParameter[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of params) {
    const d = p.default;
    out[p.name] =
      d === undefined || d === null ? "" : typeof d === "string" ? d : JSON.stringify(d);
  }
  return out;
}

/**
 * The `values` to send, typed like each default. A blank field is left out,
 * so the server, which knows which values are required, says so next to it;
 * only text that cannot be read as its type is refused here.
 */
export function buildParamValues(
  params: TemplateParameter[],
  form: Record<string, string>,
): { values: Record<string, unknown>; errors: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const p of params) {
    const text = (form[p.name] ?? "").trim();
    if (text === "") continue;
    switch (paramInput(p)) {
      case "boolean":
        values[p.name] = text === "true";
        break;
      case "number": {
        const n = Number(text);
        if (Number.isFinite(n)) values[p.name] = n;
        else errors[p.name] = "must be a number";
        break;
      }
      case "json":
        try {
          values[p.name] = JSON.parse(text);
        } catch {
          errors[p.name] = "must be JSON";
        }
        break;
      default:
        values[p.name] = text;
    }
  }
  return { values, errors };
}

export interface InstantiateErrors {
  clientId?: string;
  name?: string;
  params: Record<string, string>;
  /** Errors that belong to no field: graph problems, trigger settings. */
  other: string[];
}

/**
 * Sorts a 422's details onto the form: `values.<name>` next to its
 * parameter, `clientId` and `name` next to theirs, the rest (graph
 * problems, which have no `field`) above the buttons.
 */
export function sortInstantiateErrors(
  details: unknown,
  params: TemplateParameter[],
): InstantiateErrors {
  const out: InstantiateErrors = { params: {}, other: [] };
  if (!Array.isArray(details)) return out;
  const known = new Set(params.map((p) => p.name));
  for (const d of details as { field?: unknown; message?: unknown }[]) {
    const message = typeof d?.message === "string" ? d.message : null;
    if (!message) continue;
    const field = typeof d.field === "string" ? d.field : null;
    const param = field?.startsWith("values.") ? field.slice("values.".length) : null;
    if (param && known.has(param)) out.params[param] = message;
    else if (field === "clientId") out.clientId = message;
    else if (field === "name") out.name = message;
    else out.other.push(field ? `${field}: ${message}` : message);
  }
  return out;
}

/** The names in a list of usernames or emails, as the flow nodes split it. */
export function namesIn(text: string): string[] {
  return text.split(/[,;\s]+/).filter(Boolean);
}

/** Adds a username to such a list unless it is there already. */
export function addName(text: string, name: string): string {
  const names = namesIn(text);
  if (names.some((n) => n.toLowerCase() === name.toLowerCase())) return text;
  return [...names, name].join(", ");
}
