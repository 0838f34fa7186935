import { useId, useMemo, useState, type FormEvent } from "react";
import { ApiError, errorMessage } from "@/shared/api";
import { Button, Checkbox, Dialog, Field, Input, Select } from "@/shared/ui";
import { TimeZoneField } from "@/entities/trigger";
import { usePeople } from "@/entities/user";
import {
  useInstantiateTemplate,
  type Instantiated,
  type TemplateParameter,
  type WorkflowTemplate,
} from "@/entities/workflow-template";
import {
  addName,
  buildParamValues,
  initialParamValues,
  namesIn,
  paramInput,
  sortInstantiateErrors,
  type InstantiateErrors,
} from "../model/values";

export interface ClientChoice {
  id: number;
  name: string;
}

/**
 * The form that makes a workflow from a template: for which client, its
 * name, and a value per parameter. Mounted per template (keyed), so it
 * starts from that template's defaults.
 */
export function InstantiateDialog({
  template,
  clients,
  defaultClientId,
  onClose,
  onCreated,
}: {
  template: WorkflowTemplate;
  clients: ClientChoice[];
  defaultClientId?: number;
  onClose: () => void;
  onCreated: (result: Instantiated, name: string) => void;
}) {
  const instantiate = useInstantiateTemplate();
  const [clientId, setClientId] = useState(() =>
    String(
      clients.find((c) => c.id === defaultClientId)?.id ??
        (clients.length === 1 ? clients[0]!.id : ""),
    ),
  );
  const [name, setName] = useState(template.name);
  const [values, setValues] = useState(() => initialParamValues(template.parameters));
  const [errors, setErrors] = useState<InstantiateErrors>({ params: {}, other: [] });

  function submit(e: FormEvent) {
    e.preventDefault();
    const built = buildParamValues(template.parameters, values);
    const local: InstantiateErrors = { params: built.errors, other: [] };
    if (!clientId) local.clientId = "Choose the client the workflow is for.";
    if (!name.trim()) local.name = "Give the workflow a name.";
    if (local.clientId || local.name || Object.keys(local.params).length) {
      setErrors(local);
      return;
    }
    setErrors({ params: {}, other: [] });
    instantiate.mutate(
      {
        templateId: template.id,
        clientId: Number(clientId),
        name: name.trim(),
        values: built.values,
      },
      {
        onSuccess: (result) => onCreated(result, name.trim()),
        onError: (err) =>
          setErrors(
            err instanceof ApiError && err.status === 422
              ? withFallback(sortInstantiateErrors(err.details, template.parameters), err.message)
              : { params: {}, other: [errorMessage(err)] },
          ),
      },
    );
  }

  return (
    <Dialog
      open
      onOpenChange={(o) => !o && onClose()}
      wide
      title={`New workflow from “${template.name}”`}
      description={template.description}
    >
      <form onSubmit={submit} className="space-y-4" noValidate data-testid="instantiate-form">
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label="Client" error={errors.clientId}>
            {(id) => (
              <Select
                id={id}
                value={clientId}
                aria-invalid={!!errors.clientId || undefined}
                onChange={(e) => setClientId(e.target.value)}
              >
                <option value="">Choose a client…</option>
                {clients.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field label="Workflow name" error={errors.name}>
            {(id) => (
              <Input
                id={id}
                value={name}
                maxLength={200}
                invalid={!!errors.name}
                onChange={(e) => setName(e.target.value)}
              />
            )}
          </Field>
        </div>
        {template.parameters.length > 0 && (
          <fieldset className="space-y-3 rounded-lg border border-slate-200 p-4">
            <legend className="px-1 text-xs font-semibold uppercase tracking-wide text-slate-500">
              Parameters
            </legend>
            {template.parameters.map((p) => (
              <ParamInput
                key={p.name}
                param={p}
                value={values[p.name] ?? ""}
                error={errors.params[p.name]}
                clientId={clientId ? Number(clientId) : null}
                onChange={(v) => setValues((s) => ({ ...s, [p.name]: v }))}
              />
            ))}
            <p className="text-xs text-slate-500">
              <span className="text-rose-700" aria-hidden="true">
                *
              </span>{" "}
              required
            </p>
          </fieldset>
        )}
        {errors.other.length > 0 && (
          <div
            className="rounded-md border border-rose-200 bg-rose-50 p-3 text-sm text-rose-800"
            role="alert"
            data-testid="instantiate-errors"
          >
            <p className="font-medium">The workflow was not created:</p>
            <ul className="mt-1 list-disc pl-5">
              {errors.other.map((m, i) => (
                <li key={i}>{m}</li>
              ))}
            </ul>
          </div>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" loading={instantiate.isPending}>
            Create workflow
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** A 422 whose details name no field still says something. */
function withFallback(errors: InstantiateErrors, message: string): InstantiateErrors {
  const placed =
    errors.clientId || errors.name || errors.other.length || Object.keys(errors.params).length;
  return placed ? errors : { ...errors, other: [message] };
}

function ParamInput({
  param: p,
  value,
  error,
  clientId,
  onChange,
}: {
  param: TemplateParameter;
  value: string;
  error?: string;
  clientId: number | null;
  onChange: (value: string) => void;
}) {
  const id = useId();
  const kind = paramInput(p);
  const describedBy = [p.help && `${id}-help`, error && `${id}-error`].filter(Boolean).join(" ");
  const label = (
    <>
      {p.label}
      {p.required && (
        <span className="ml-0.5 text-rose-700" aria-hidden="true">
          *
        </span>
      )}
    </>
  );
  return (
    <div className="space-y-1" data-testid={`param-${p.name}`}>
      {kind === "boolean" ? (
        <Checkbox
          label={label}
          checked={value === "true"}
          aria-describedby={describedBy || undefined}
          onChange={(e) => onChange(String(e.target.checked))}
        />
      ) : (
        <>
          <label htmlFor={id} className="block text-xs font-medium text-slate-700">
            {label}
          </label>
          {kind === "timezone" ? (
            <TimeZoneField id={id} value={value} invalid={!!error} onChange={onChange} />
          ) : (
            <Input
              id={id}
              value={value}
              type={kind === "number" ? "number" : "text"}
              className={kind === "json" ? "font-mono" : undefined}
              aria-required={p.required || undefined}
              aria-describedby={describedBy || undefined}
              invalid={!!error}
              onChange={(e) => onChange(e.target.value)}
            />
          )}
          {kind === "people" && (
            <PeopleSuggestions value={value} clientId={clientId} onChange={onChange} />
          )}
        </>
      )}
      {p.help && (
        <p id={`${id}-help`} className="text-xs text-slate-500">
          {p.help}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="text-xs text-rose-700" role="alert">
          {p.label} {error}
        </p>
      )}
    </div>
  );
}

/** People a flow node may name: managers and admins, and the chosen client. */
function PeopleSuggestions({
  value,
  clientId,
  onChange,
}: {
  value: string;
  clientId: number | null;
  onChange: (value: string) => void;
}) {
  const people = usePeople();
  const chosen = useMemo(() => new Set(namesIn(value).map((n) => n.toLowerCase())), [value]);
  const offered = people.list
    .filter((p) => p.role !== "client" || p.id === clientId)
    .filter((p) => !chosen.has(p.username.toLowerCase()))
    .slice(0, 8);
  if (offered.length === 0) return null;
  return (
    <div
      className="flex flex-wrap items-center gap-1 text-xs"
      role="group"
      aria-label="Suggested people"
    >
      <span className="text-slate-500">Add:</span>
      {offered.map((p) => (
        <button
          key={p.id}
          type="button"
          className="rounded-full bg-slate-100 px-2 py-0.5 text-slate-700 hover:bg-indigo-50 hover:text-indigo-800"
          onClick={() => onChange(addName(value, p.username))}
        >
          {p.name} <span className="text-slate-600">@{p.username}</span>
        </button>
      ))}
    </div>
  );
}
