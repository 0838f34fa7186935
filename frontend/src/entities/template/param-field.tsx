import { useId } from "react";
import { Checkbox, Input, Select, Textarea } from "@/shared/ui";
import type { ParamSpec } from "./api";

/**
 * One form control generated from a parameter's kind. Values are JSON: text,
 * textarea, secret, select and file are strings; number a number; boolean a
 * boolean; multiselect an array of strings.
 */
export function ParamField({
  spec,
  value,
  onChange,
  error,
}: {
  spec: ParamSpec;
  value: unknown;
  onChange: (v: unknown) => void;
  error?: string;
}) {
  const id = useId();
  const helpId = `${id}-help`;
  const described = error || helpText(spec) ? helpId : undefined;
  const label = spec.label || spec.name;
  const effective = value === undefined ? spec.default : value;
  let control;
  switch (spec.kind) {
    case "text":
      control = (
        <Input
          id={id}
          aria-describedby={described}
          value={str(effective)}
          onChange={(e) => onChange(e.target.value)}
        />
      );
      break;
    case "textarea":
      control = (
        <Textarea
          id={id}
          aria-describedby={described}
          value={str(effective)}
          onChange={(e) => onChange(e.target.value)}
        />
      );
      break;
    case "secret":
      // The server never returns a stored secret: it sends {"set": true},
      // and that placeholder sent back keeps the value.
      control = isSecretSet(effective) ? (
        <div className="flex items-center gap-2 text-sm text-slate-600">
          <span data-testid="secret-set">••••• (set)</span>
          <span aria-hidden>—</span>
          <button
            type="button"
            className="nodrag text-xs font-medium text-sky-700 underline"
            onClick={() => onChange("")}
          >
            replace
          </button>
        </div>
      ) : (
        <Input
          id={id}
          type="password"
          autoComplete="off"
          aria-describedby={described}
          value={str(effective)}
          onChange={(e) => onChange(e.target.value)}
        />
      );
      break;
    case "number":
      control = (
        <Input
          id={id}
          type="number"
          aria-describedby={described}
          min={spec.min ?? undefined}
          max={spec.max ?? undefined}
          step="any"
          value={typeof effective === "number" ? effective : ""}
          invalid={!!error}
          onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
        />
      );
      break;
    case "boolean":
      return (
        <div className="space-y-1">
          <Checkbox
            id={id}
            aria-describedby={described}
            label={label}
            checked={effective === true}
            onChange={(e) => onChange(e.target.checked)}
          />
          <Help id={helpId} spec={spec} error={error} />
        </div>
      );
    case "select":
      control = (
        <Select
          id={id}
          aria-describedby={described}
          value={str(effective)}
          onChange={(e) => onChange(e.target.value || undefined)}
        >
          <option value="">—</option>
          {(spec.options ?? []).map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </Select>
      );
      break;
    case "multiselect": {
      const chosen = new Set(Array.isArray(effective) ? (effective as string[]) : []);
      return (
        <fieldset className="space-y-1">
          <legend className="text-xs font-medium text-slate-700">
            {label}
            {spec.required && <span className="text-rose-600"> *</span>}
          </legend>
          <div className="flex flex-wrap gap-x-3 gap-y-1">
            {(spec.options ?? []).map((o) => (
              <Checkbox
                key={o}
                label={o}
                checked={chosen.has(o)}
                onChange={(e) => {
                  const next = new Set(chosen);
                  if (e.target.checked) next.add(o);
                  else next.delete(o);
                  onChange((spec.options ?? []).filter((x) => next.has(x)));
                }}
              />
            ))}
          </div>
          <Help id={helpId} spec={spec} error={error} />
        </fieldset>
      );
    }
    case "file":
      control = (
        <div className="space-y-1">
          <Input
            id={id}
            type="file"
            onChange={async (e) => {
              const f = e.target.files?.[0];
              if (!f) return;
              // Small files travel inline as a data URL string.
              const url = await new Promise<string>((resolve, reject) => {
                const r = new FileReader();
                r.onload = () => resolve(String(r.result));
                r.onerror = () => reject(r.error);
                r.readAsDataURL(f);
              });
              onChange(url);
            }}
          />
          {typeof effective === "string" && effective && (
            <p className="truncate text-xs text-slate-500">current: {effective.slice(0, 48)}…</p>
          )}
        </div>
      );
      break;
  }
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-xs font-medium text-slate-700">
        {label}
        {spec.required && <span className="text-rose-600"> *</span>}
      </label>
      {control}
      <Help id={helpId} spec={spec} error={error} />
    </div>
  );
}

function helpText(spec: ParamSpec): string {
  const bounds =
    spec.kind === "number" && (spec.min != null || spec.max != null)
      ? `Between ${spec.min ?? "−∞"} and ${spec.max ?? "∞"}. `
      : "";
  return bounds + (spec.help ?? "");
}

/**
 * The parameter's help under its control. Text between backticks (a template
 * such as `{{ value.amount }}`, an expression) shows as code; all of it is
 * text, never markup.
 */
function Help({ id, spec, error }: { id: string; spec: ParamSpec; error?: string }) {
  if (error)
    return (
      <p id={id} className="text-xs text-rose-600">
        {error}
      </p>
    );
  const text = helpText(spec);
  if (!text) return null;
  return (
    <p id={id} className="text-xs text-slate-600" data-testid="param-help">
      {text.split("`").map((part, i) =>
        i % 2 ? (
          <code key={i} className="rounded bg-slate-100 px-1 font-mono text-[11px] text-slate-800">
            {part}
          </code>
        ) : (
          part
        ),
      )}
    </p>
  );
}

/** Whether a secret parameter value is the server's `{"set": true}` placeholder. */
export function isSecretSet(v: unknown): boolean {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    (v as Record<string, unknown>).set === true
  );
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v == null ? "" : String(v);
}
