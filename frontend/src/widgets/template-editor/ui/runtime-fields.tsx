import { Field, Input, Select } from "@/shared/ui";
import type { TemplateSpec } from "@/entities/template";
import type { SetSpecField } from "../model/types";

const LIMITS = [
  ["timeoutSeconds", "Timeout (s)"],
  ["memoryMib", "Memory (MiB)"],
  ["cpuMillicores", "CPU (millicores)"],
] as const;

/** Execution mode, sandbox, image, resource limits and retries. */
export function RuntimeFields({
  spec,
  set,
  errors,
}: {
  spec: TemplateSpec;
  set: SetSpecField;
  errors: Record<string, string>;
}) {
  return (
    <>
      <Field label="Execution mode" hint="async runs the coroutine under asyncio.">
        {(id) => (
          <Select
            id={id}
            value={spec.executionMode}
            onChange={(e) => set("executionMode", e.target.value as TemplateSpec["executionMode"])}
          >
            <option value="sync">sync</option>
            <option value="async">async</option>
          </Select>
        )}
      </Field>
      <Field label="Trust level" hint="restricted: no network, import allow-list.">
        {(id) => (
          <Select
            id={id}
            value={spec.trustLevel}
            onChange={(e) => set("trustLevel", e.target.value as TemplateSpec["trustLevel"])}
          >
            <option value="restricted">restricted</option>
            <option value="trusted">trusted</option>
          </Select>
        )}
      </Field>
      <Field
        label="Container image"
        hint="Kubernetes only; empty = the node runtime image. Must be on the allow-list."
        error={errors["image"]}
      >
        {(id) => (
          <Input
            id={id}
            placeholder="registry.example/nodes/pandas:1"
            value={spec.image ?? ""}
            onChange={(e) => set("image", e.target.value.trim() || undefined)}
          />
        )}
      </Field>
      {LIMITS.map(([k, label]) => (
        <Field key={k} label={label} error={errors[`limits.${k}`]}>
          {(id) => (
            <Input
              id={id}
              type="number"
              min={1}
              value={spec.limits?.[k] ?? ""}
              onChange={(e) => set("limits", { ...spec.limits!, [k]: Number(e.target.value) })}
            />
          )}
        </Field>
      ))}
      <Field label="Attempts (retry)" error={errors["retry.maxAttempts"]}>
        {(id) => (
          <Input
            id={id}
            type="number"
            min={1}
            value={spec.retry?.maxAttempts ?? 1}
            onChange={(e) => set("retry", { ...spec.retry!, maxAttempts: Number(e.target.value) })}
          />
        )}
      </Field>
      <Field label="Backoff (s)" error={errors["retry.backoffSeconds"]}>
        {(id) => (
          <Input
            id={id}
            type="number"
            min={0}
            value={spec.retry?.backoffSeconds ?? 0}
            onChange={(e) =>
              set("retry", { ...spec.retry!, backoffSeconds: Number(e.target.value) })
            }
          />
        )}
      </Field>
    </>
  );
}
