import { useId, type ReactNode } from "react";
import { Badge, Select, Textarea } from "@/shared/ui";
import { useUsableConnections } from "@/entities/connection";
import type { ParamSpec } from "@/entities/template";
import type { GraphNode } from "@/entities/workflow";
import {
  FIELD_PORTS,
  FIELD_TYPE_NAMES,
  connectionChoice,
  connectionKindName,
  connectionLabel,
  parseFieldMapping,
  queryPlaceholders,
  type QueryParam,
} from "../model/query-node";

/** A Query node's connection, SQL or field mapping: the controls that know what they hold. */
export function QueryParamField({
  which,
  node,
  spec,
  clientId,
  error,
  onChange,
}: {
  which: QueryParam;
  node: GraphNode;
  spec: ParamSpec;
  /** The workflow's client: only connections allowed for it can run. */
  clientId: number;
  error?: string;
  onChange: (v: string | undefined) => void;
}) {
  const value = str(node.params[spec.name] ?? spec.default);
  const set = (v: string) => onChange(v === "" ? undefined : v);
  switch (which) {
    case "connection":
      return (
        <ConnectionField
          spec={spec}
          value={value}
          clientId={clientId}
          error={error}
          onChange={set}
        />
      );
    case "sql":
      return (
        <SqlField
          spec={spec}
          value={value}
          connection={node.params.connection}
          clientId={clientId}
          error={error}
          onChange={set}
        />
      );
    case "fields":
      return <FieldMappingField spec={spec} value={value} error={error} onChange={set} />;
  }
}

/**
 * The connections an admin allowed for the workflow's client, by name. A name
 * the list does not hold (typed into the graph elsewhere, or no longer
 * allowed) stays selected with a warning instead of silently disappearing.
 */
function ConnectionField({
  spec,
  value,
  clientId,
  error,
  onChange,
}: {
  spec: ParamSpec;
  value: string;
  clientId: number;
  error?: string;
  onChange: (v: string) => void;
}) {
  const id = useId();
  const usable = useUsableConnections(clientId);
  const list = usable.data ?? [];
  // Until the list is known, a name is neither allowed nor refused.
  const known = usable.isSuccess;
  const choice = connectionChoice(list, value);
  let note: ReactNode;
  if (error) note = <span className="text-rose-600">{error}</span>;
  else if (usable.isPending) note = "Loading the connections allowed for this client…";
  else if (usable.isError)
    note = <span className="text-rose-600">The connections could not be loaded.</span>;
  else if (choice.state === "unknown")
    note = (
      <span className="text-amber-700" role="alert" data-testid="connection-not-allowed">
        “{choice.name}” is not allowed for this client: runs fail at this node until an admin allows
        it.
      </span>
    );
  else if (choice.state === "allowed")
    note = (
      <span className="flex flex-wrap items-center gap-1" data-testid="connection-badges">
        <Badge tone="sky">{connectionKindName(choice.connection.kind)}</Badge>
        {choice.connection.readOnly ? (
          <Badge tone="slate">read-only</Badge>
        ) : (
          <Badge tone="amber">read-write</Badge>
        )}
      </span>
    );
  else if (list.length === 0)
    note = "No connection is allowed for this client yet; an admin adds one under Connections.";
  else note = spec.help;
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-xs font-medium text-slate-700">
        {spec.label || spec.name}
        {spec.required && <span className="text-rose-600"> *</span>}
      </label>
      <Select
        id={id}
        aria-describedby={`${id}-help`}
        aria-invalid={!!error || (known && choice.state === "unknown") || undefined}
        value={choice.state === "empty" ? "" : value.trim()}
        onChange={(e) => onChange(e.target.value)}
      >
        <option value="">—</option>
        {list.map((c) => (
          <option key={c.name} value={c.name}>
            {connectionLabel(c)}
          </option>
        ))}
        {choice.state === "unknown" && (
          <option value={choice.name}>
            {known ? `${choice.name} (not allowed for this client)` : choice.name}
          </option>
        )}
      </Select>
      <div id={`${id}-help`} className="text-xs text-slate-600">
        {note}
      </div>
    </div>
  );
}

/**
 * SQL (or, on a MongoDB connection, a JSON query document) in a monospace
 * field, with the placeholders it binds from the `params` input.
 */
function SqlField({
  spec,
  value,
  connection,
  clientId,
  error,
  onChange,
}: {
  spec: ParamSpec;
  value: string;
  /** The node's `connection` value: its kind decides how placeholders read. */
  connection: unknown;
  clientId: number;
  error?: string;
  onChange: (v: string) => void;
}) {
  const id = useId();
  const usable = useUsableConnections(clientId);
  const choice = connectionChoice(usable.data ?? [], connection);
  const kind = choice.state === "allowed" ? choice.connection.kind : undefined;
  const names = queryPlaceholders(kind, value);
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-xs font-medium text-slate-700">
        {spec.label || spec.name}
      </label>
      <Textarea
        id={id}
        aria-describedby={`${id}-help`}
        aria-invalid={!!error || undefined}
        className={monospace}
        rows={5}
        spellCheck={false}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
      <p id={`${id}-help`} className="text-xs text-slate-600" data-testid="sql-help">
        {error ? (
          <span className="text-rose-600">{error}</span>
        ) : names.length > 0 ? (
          <>
            Bound from the <Code>params</Code> input:{" "}
            {names.map((n, i) => (
              <span key={n}>
                {i > 0 && ", "}
                <Code>:{n}</Code> ← <Code>params.{n}</Code>
              </span>
            ))}
            . Values are never spliced into the text.
          </>
        ) : (
          withCode(spec.help ?? "")
        )}
      </p>
    </div>
  );
}

/**
 * The field mapping with its syntax underneath, and the line the server would
 * refuse (or the ports the first fields fill) as it is typed.
 */
function FieldMappingField({
  spec,
  value,
  error,
  onChange,
}: {
  spec: ParamSpec;
  value: string;
  error?: string;
  onChange: (v: string) => void;
}) {
  const id = useId();
  const mapping = parseFieldMapping(value);
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-xs font-medium text-slate-700">
        {spec.label || spec.name}
      </label>
      <Textarea
        id={id}
        aria-describedby={`${id}-help ${id}-check`}
        aria-invalid={!!error || !mapping.ok || undefined}
        className={monospace}
        rows={4}
        spellCheck={false}
        placeholder={"id: integer\ncustomer as name\ntotal: number"}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
      <p id={`${id}-help`} className="text-xs text-slate-600" data-testid="fields-help">
        One per line: <Code>column</Code>, <Code>column as name</Code>, optional <Code>: type</Code>{" "}
        ({FIELD_TYPE_NAMES.join(", ")}). Empty: every column as read.
      </p>
      <p id={`${id}-check`} className="text-xs" data-testid="fields-check">
        {error ? (
          <span className="text-rose-600">{error}</span>
        ) : !mapping.ok ? (
          <span className="text-rose-600">
            Line {mapping.line}: {mapping.message}
          </span>
        ) : (
          mapping.fields.length > 0 && (
            <span className="text-slate-500">
              {mapping.fields.slice(0, FIELD_PORTS).map((f, i) => (
                <span key={f.name}>
                  {i > 0 && ", "}
                  <Code>field{i + 1}</Code> = {f.name}
                </span>
              ))}
              {mapping.fields.length > FIELD_PORTS &&
                ` (+${mapping.fields.length - FIELD_PORTS} only in rows)`}
            </span>
          )
        )}
      </p>
    </div>
  );
}

const monospace = "font-mono text-xs leading-5";

function Code({ children }: { children: ReactNode }) {
  return (
    <code className="rounded bg-slate-100 px-1 font-mono text-[11px] text-slate-800">
      {children}
    </code>
  );
}

/** Help text with `backticked` parts shown as code; all of it stays text. */
function withCode(text: string) {
  return text.split("`").map((part, i) => (i % 2 ? <Code key={i}>{part}</Code> : part));
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v == null ? "" : String(v);
}
