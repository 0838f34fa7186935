import { Field, Input } from "@/shared/ui";
import type { TemplateSpec } from "@/entities/template";
import type { SetSpecField } from "../model/types";

export function IdentityFields({
  spec,
  set,
  errors,
  isNew,
}: {
  spec: TemplateSpec;
  set: SetSpecField;
  errors: Record<string, string>;
  isNew: boolean;
}) {
  return (
    <div className="grid gap-3 md:grid-cols-4">
      <Field label="Name" error={errors.name} hint="Unique, e.g. text.upper; cannot change later.">
        {(id) => (
          <Input
            id={id}
            value={spec.name}
            disabled={!isNew}
            onChange={(e) => set("name", e.target.value)}
          />
        )}
      </Field>
      <Field label="Title" error={errors.title}>
        {(id) => (
          <Input id={id} value={spec.title} onChange={(e) => set("title", e.target.value)} />
        )}
      </Field>
      <Field label="Category" error={errors.category}>
        {(id) => (
          <Input
            id={id}
            value={spec.category ?? ""}
            onChange={(e) => set("category", e.target.value)}
          />
        )}
      </Field>
      <Field label="Description" error={errors.description}>
        {(id) => (
          <Input
            id={id}
            value={spec.description ?? ""}
            onChange={(e) => set("description", e.target.value)}
          />
        )}
      </Field>
    </div>
  );
}
