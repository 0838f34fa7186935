import type { UsableConnection } from "@/entities/connection";
import type { TemplateInfo } from "@/entities/workflow";

/** The Query node's parameters the inspector draws itself instead of the generic field. */
export type QueryParam = "connection" | "sql" | "fields";

/** Which special control a Query node parameter gets, if any. */
export function queryParam(builtin: TemplateInfo["builtin"], param: string): QueryParam | null {
  if (builtin !== "query") return null;
  return param === "connection" || param === "sql" || param === "fields" ? param : null;
}

/** The write-mode parameters and the operations that use each. */
const WRITE_PARAMS: Record<string, readonly string[]> = {
  table: ["insert", "upsert"],
  columns: ["insert", "upsert"],
  keyColumns: ["upsert"],
};

/**
 * Whether the inspector shows a parameter for the node's operation: a Query
 * node's table, column mapping and key columns only when it writes (the
 * server reads an unset operation as `read`, so does this).
 */
export function isQueryParamShown(
  builtin: TemplateInfo["builtin"],
  param: string,
  operation: unknown,
): boolean {
  if (builtin !== "query") return true;
  const modes = WRITE_PARAMS[param];
  if (!modes) return true;
  const op = typeof operation === "string" && operation.trim() ? operation.trim() : "read";
  return modes.includes(op);
}

export type ConnectionChoice =
  | { state: "empty" }
  | { state: "allowed"; connection: UsableConnection }
  /** A name typed in (or left from another client) that the list does not hold. */
  | { state: "unknown"; name: string };

/**
 * Where the node's `connection` value stands against the names an admin
 * allowed for the workflow's client. The server trims the value, so does this.
 */
export function connectionChoice(
  usable: readonly UsableConnection[],
  value: unknown,
): ConnectionChoice {
  const name = typeof value === "string" ? value.trim() : "";
  if (!name) return { state: "empty" };
  const connection = usable.find((c) => c.name === name);
  return connection ? { state: "allowed", connection } : { state: "unknown", name };
}

/** The option text of a usable connection in the select. */
export function connectionLabel(c: UsableConnection): string {
  return `${c.name} (${connectionKindName(c.kind)}${c.readOnly ? ", read-only" : ""})`;
}

/** A connection kind as people write it. */
export function connectionKindName(kind: string): string {
  return KIND_NAMES[kind] ?? kind;
}

const KIND_NAMES: Record<string, string> = {
  postgres: "PostgreSQL",
  mysql: "MySQL",
  sqlserver: "SQL Server",
  mongodb: "MongoDB",
};

/** One line of a field mapping, as the server reads it. */
export interface MappedField {
  column: string;
  name: string;
  /** `auto` when the line names no type. */
  type: string;
}

/** The type names (and their aliases) the server's field mapping accepts. */
const FIELD_TYPES: Record<string, string> = {
  auto: "auto",
  string: "string",
  text: "string",
  number: "number",
  float: "number",
  integer: "integer",
  int: "integer",
  decimal: "decimal",
  boolean: "boolean",
  bool: "boolean",
  date: "date",
  datetime: "datetime",
  timestamp: "datetime",
  json: "json",
  binary: "binary",
  bytes: "binary",
};

export const FIELD_TYPE_NAMES = [
  "string",
  "number",
  "integer",
  "decimal",
  "boolean",
  "date",
  "datetime",
  "json",
  "binary",
] as const;

export type FieldMapping =
  { ok: true; fields: MappedField[] } | { ok: false; line: number; message: string };

/**
 * Reads a field mapping the way the server does (`column`, `column as name`,
 * an optional `: type`, one per line, `#` comments), so the inspector can say
 * which line is wrong before a run fails on it.
 */
export function parseFieldMapping(src: string): FieldMapping {
  const fields: MappedField[] = [];
  for (const [i, raw] of src.split(/\r?\n/).entries()) {
    const line = (raw.split("#")[0] ?? "").trim();
    if (!line) continue;
    const fail = (message: string): FieldMapping => ({ ok: false, line: i + 1, message });
    const colon = line.lastIndexOf(":");
    const left = colon < 0 ? line : line.slice(0, colon).trim();
    const typeText =
      colon < 0
        ? "auto"
        : line
            .slice(colon + 1)
            .trim()
            .toLowerCase();
    const type = FIELD_TYPES[typeText];
    if (!type) return fail(`unknown type “${typeText}” (one of ${FIELD_TYPE_NAMES.join(", ")})`);
    const words = left.split(/\s+/).filter(Boolean);
    const [column, as, renamed] = words;
    if (column === undefined) return fail("a column name is missing");
    let name = column;
    if (words.length === 3 && as?.toLowerCase() === "as" && renamed) name = renamed;
    else if (words.length !== 1) return fail("write “column”, “column as name” or add “: type”");
    if (fields.some((f) => f.name === name)) return fail(`the name “${name}” is used twice`);
    fields.push({ column, name, type });
  }
  return { ok: true, fields };
}

/** How many mapped fields also get their own output port (`field1` … `field4`). */
export const FIELD_PORTS = 4;

/**
 * The `:name` placeholders of a SQL text, each once, in order of first use,
 * skipping what the server skips: quoted text, comments and `::type` casts.
 * Unterminated quotes or comments end the scan; the server reports them.
 */
export function sqlPlaceholders(sql: string): string[] {
  const names: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === "'" || c === '"' || c === "`") {
      // A doubled quote is an escaped quote and keeps the run going.
      i++;
      while (i < sql.length) {
        if (sql[i] === c) {
          if (sql[i + 1] === c) i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (c === "-" && next === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === ":" && next === ":") {
      i += 2;
    } else if (c === ":" && next !== undefined && /[A-Za-z_]/.test(next)) {
      const m = /^[A-Za-z0-9_]+/.exec(sql.slice(i + 1))!;
      if (!names.includes(m[0])) names.push(m[0]);
      i += 1 + m[0].length;
    } else i++;
  }
  return names;
}

/**
 * The parameters of a MongoDB query document: the strings that are exactly
 * `":name"`, each once, in order (`"::text"` is literal text), as the server
 * reads them.
 */
export function mongoPlaceholders(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    const s = m[1] ?? "";
    const name = /^:([A-Za-z_][A-Za-z0-9_]*)$/.exec(s)?.[1];
    if (name && !names.includes(name)) names.push(name);
  }
  return names;
}

/** The placeholders of a Query node's text for its connection's kind. */
export function queryPlaceholders(kind: string | undefined, text: string): string[] {
  return kind === "mongodb" ? mongoPlaceholders(text) : sqlPlaceholders(text);
}
