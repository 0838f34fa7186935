import { Button, Checkbox, Field, Input, Select } from "@/shared/ui";
import { PARAM_KINDS, type ParamSpec } from "@/entities/template";
import { newParam, parseDefault, parseOptions, patchAt } from "../model/spec";

export function ParamsEditor({
  params,
  onChange,
  errors,
}: {
  params: ParamSpec[];
  onChange: (p: ParamSpec[]) => void;
  errors: Record<string, string>;
}) {
  const update = (i: number, patch: Partial<ParamSpec>) => onChange(patchAt(params, i, patch));
  return (
    <section aria-label="Parameters" className="space-y-2">
      <div className="flex justify-end">
        <Button size="sm" onClick={() => onChange([...params, newParam(params.length)])}>
          Add parameter
        </Button>
      </div>
      {params.length === 0 && <p className="text-sm text-slate-500">No parameters.</p>}
      {params.map((p, i) => {
        const err = (k: string) => errors[`parameters[${i}].${k}`];
        const hasOptions = p.kind === "select" || p.kind === "multiselect";
        return (
          <div
            key={i}
            className="grid gap-2 rounded-md bg-white p-3 ring-1 ring-slate-200 md:grid-cols-6"
          >
            <Field label="Name" error={err("name")}>
              {(id) => (
                <Input
                  id={id}
                  value={p.name}
                  onChange={(e) => update(i, { name: e.target.value })}
                />
              )}
            </Field>
            <Field label="Label">
              {(id) => (
                <Input
                  id={id}
                  value={p.label ?? ""}
                  onChange={(e) => update(i, { label: e.target.value })}
                />
              )}
            </Field>
            <Field label="Kind">
              {(id) => (
                <Select
                  id={id}
                  value={p.kind}
                  onChange={(e) => update(i, { kind: e.target.value as ParamSpec["kind"] })}
                >
                  {PARAM_KINDS.map((k) => (
                    <option key={k}>{k}</option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label="Default (JSON)" error={err("default")} hint='e.g. "text", 3, true'>
              {(id) => (
                <Input
                  id={id}
                  defaultValue={p.default === undefined ? "" : JSON.stringify(p.default)}
                  onBlur={(e) => update(i, { default: parseDefault(e.target.value) })}
                />
              )}
            </Field>
            {p.kind === "number" ? (
              <div className="flex gap-2">
                <NumberBound label="Min" value={p.min} onChange={(min) => update(i, { min })} />
                <NumberBound label="Max" value={p.max} onChange={(max) => update(i, { max })} />
              </div>
            ) : hasOptions ? (
              <Field label="Options" error={err("options")} hint="comma-separated">
                {(id) => (
                  <Input
                    id={id}
                    value={(p.options ?? []).join(", ")}
                    onChange={(e) => update(i, { options: parseOptions(e.target.value) })}
                  />
                )}
              </Field>
            ) : (
              <div />
            )}
            <div className="flex items-end justify-between gap-2">
              <Checkbox
                label="required"
                checked={!!p.required}
                onChange={(e) => update(i, { required: e.target.checked })}
              />
              <Button
                size="sm"
                variant="ghost"
                aria-label={`Remove parameter ${p.name}`}
                onClick={() => onChange(params.filter((_, j) => j !== i))}
              >
                ✕
              </Button>
            </div>
          </div>
        );
      })}
    </section>
  );
}

/** An optional number: empty means no bound. */
function NumberBound({
  label,
  value,
  onChange,
}: {
  label: string;
  value: number | null | undefined;
  onChange: (v: number | undefined) => void;
}) {
  return (
    <Field label={label}>
      {(id) => (
        <Input
          id={id}
          type="number"
          value={value ?? ""}
          onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
        />
      )}
    </Field>
  );
}
