import { Button, Checkbox, Input, Select } from "@/shared/ui";
import { PORT_COLORS, PORT_TYPES, type PortSpec } from "@/entities/template";
import { newPort, patchAt, type PortSide } from "../model/spec";

export function PortsEditor({
  title,
  ports,
  onChange,
  prefix,
  errors,
}: {
  title: string;
  ports: PortSpec[];
  onChange: (p: PortSpec[]) => void;
  /** Also the field-error path prefix, e.g. `inputs[0].name`. */
  prefix: PortSide;
  errors: Record<string, string>;
}) {
  const update = (i: number, patch: Partial<PortSpec>) => onChange(patchAt(ports, i, patch));
  return (
    <section aria-label={title}>
      <div className="mb-2 flex items-center justify-between">
        <h3 className="text-sm font-semibold">{title}</h3>
        <Button size="sm" onClick={() => onChange([...ports, newPort(prefix, ports.length)])}>
          Add {prefix === "inputs" ? "input" : "output"}
        </Button>
      </div>
      {ports.length === 0 && <p className="text-sm text-slate-500">None.</p>}
      <ul className="space-y-2">
        {ports.map((p, i) => (
          <li
            key={i}
            className="flex items-start gap-2 rounded-md bg-white p-2 ring-1 ring-slate-200"
          >
            <span
              className="mt-2.5 h-2.5 w-2.5 shrink-0 rounded-full"
              style={{ background: PORT_COLORS[p.type] }}
            />
            <div className="flex-1 space-y-1">
              <div className="flex gap-2">
                <Input
                  aria-label={`${title} ${i + 1} name`}
                  value={p.name}
                  invalid={!!errors[`${prefix}[${i}].name`]}
                  onChange={(e) => update(i, { name: e.target.value })}
                />
                <Select
                  aria-label={`${title} ${i + 1} type`}
                  className="w-28"
                  value={p.type}
                  onChange={(e) => update(i, { type: e.target.value as PortSpec["type"] })}
                >
                  {PORT_TYPES.map((t) => (
                    <option key={t}>{t}</option>
                  ))}
                </Select>
              </div>
              {prefix === "inputs" && (
                <Checkbox
                  label="required"
                  checked={!!p.required}
                  onChange={(e) => update(i, { required: e.target.checked })}
                  className="text-xs"
                />
              )}
              {errors[`${prefix}[${i}].name`] && (
                <p className="text-xs text-rose-600">{errors[`${prefix}[${i}].name`]}</p>
              )}
            </div>
            <Button
              size="sm"
              variant="ghost"
              aria-label={`Remove ${p.name}`}
              onClick={() => onChange(ports.filter((_, j) => j !== i))}
            >
              ✕
            </Button>
          </li>
        ))}
      </ul>
    </section>
  );
}
