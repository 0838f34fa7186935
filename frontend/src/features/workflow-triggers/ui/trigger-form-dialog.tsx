import { useState, type FormEvent } from "react";
import { ApiError, errorMessage, fieldErrors } from "@/shared/api";
import { cn } from "@/shared/lib";
import { Button, Checkbox, Dialog, Field, Input, Select } from "@/shared/ui";
import {
  browserTimeZone,
  EVENT_KINDS,
  isTimeZone,
  RUN_END_STATUSES,
  IMPORT_END_STATUSES,
  TimeZoneField,
  TRIGGER_KINDS,
  triggerKindName,
  useCreateTrigger,
  usePatchTrigger,
  type CreatedTrigger,
  type EventKind,
  type MissedPolicy,
  type Trigger,
  type TriggerKind,
} from "@/entities/trigger";
import { useTaskWorkflow } from "@/entities/task";
import { useWorkflows } from "@/entities/workflow";
import {
  buildTriggerConfig,
  CRON_PRESETS,
  DEFAULT_NAMES,
  formFromTrigger,
  MAX_RATE,
  newTriggerForm,
  placeServerErrors,
  type FormErrors,
  type TriggerForm,
} from "../model/form";
import { withCurrent, type PortChoice } from "../model/ports";

/**
 * Adds a trigger, or changes one (its kind stays). Mounted per trigger
 * (keyed), so the form starts from what is stored.
 */
export function TriggerFormDialog({
  workflowId,
  clientId,
  editing,
  initial,
  ports,
  onClose,
  onCreated,
}: {
  workflowId: number;
  clientId: number;
  editing: Trigger | null;
  /** A new trigger's starting values (a suggested rule); nothing is stored until Save. */
  initial?: TriggerForm;
  ports: PortChoice[];
  onClose: () => void;
  onCreated: (created: CreatedTrigger) => void;
}) {
  const [form, setForm] = useState<TriggerForm>(() =>
    editing
      ? formFromTrigger(editing, browserTimeZone())
      : (initial ?? newTriggerForm("schedule", browserTimeZone())),
  );
  const [errors, setErrors] = useState<FormErrors>({});
  const create = useCreateTrigger(workflowId);
  const patch = usePatchTrigger(workflowId);
  const set = <K extends keyof TriggerForm>(key: K, value: TriggerForm[K]) =>
    setForm((f) => ({ ...f, [key]: value }));

  function onServerError(err: unknown) {
    const fields = fieldErrors(err);
    if (err instanceof ApiError && err.status === 422 && Object.keys(fields).length)
      setErrors(placeServerErrors(fields, form));
    else setErrors({ form: errorMessage(err) });
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const { config, errors: local } = buildTriggerConfig(form, isTimeZone);
    setErrors(local);
    if (!config) return;
    const name = form.name.trim();
    if (editing)
      patch.mutate(
        { id: editing.id, name, config },
        { onSuccess: onClose, onError: onServerError },
      );
    else
      create.mutate(
        { name, enabled: form.enabled, config },
        {
          onSuccess: (created) => {
            onCreated(created);
            onClose();
          },
          onError: onServerError,
        },
      );
  }

  function chooseKind(kind: TriggerKind) {
    setForm((f) => ({
      ...f,
      kind,
      // A name still at its kind's default follows the kind.
      name: f.name === DEFAULT_NAMES[f.kind] ? DEFAULT_NAMES[kind] : f.name,
    }));
    setErrors({});
  }

  return (
    <Dialog
      open
      onOpenChange={(o) => !o && onClose()}
      wide
      title={editing ? `Edit “${editing.name}”` : "Add a trigger"}
      description={
        editing
          ? `${triggerKindName(editing.config.kind)} trigger; its kind cannot change.`
          : "Start this workflow on a schedule, from another system, or when something happens."
      }
    >
      <form onSubmit={submit} noValidate className="space-y-4" data-testid="trigger-form">
        {!editing && (
          <fieldset>
            <legend className="mb-1.5 text-xs font-medium text-slate-700">Kind</legend>
            <div className="grid gap-2 sm:grid-cols-3">
              {TRIGGER_KINDS.map((k) => (
                <label
                  key={k.kind}
                  className={cn(
                    "cursor-pointer rounded-lg border p-3 text-sm",
                    form.kind === k.kind
                      ? "border-indigo-500 bg-indigo-50 ring-1 ring-indigo-500"
                      : "border-slate-200 hover:border-slate-300",
                  )}
                >
                  <span className="flex items-center gap-2 font-medium">
                    <input
                      type="radio"
                      name="trigger-kind"
                      value={k.kind}
                      checked={form.kind === k.kind}
                      aria-label={k.label}
                      aria-describedby={`trigger-kind-${k.kind}-help`}
                      onChange={() => chooseKind(k.kind)}
                      className="text-indigo-600"
                    />
                    {k.label}
                  </span>
                  <span
                    id={`trigger-kind-${k.kind}-help`}
                    className="mt-1 block text-xs text-slate-600"
                  >
                    {k.help}
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
        )}
        <Field label="Name" error={errors.name}>
          {(id) => (
            <Input
              id={id}
              value={form.name}
              maxLength={200}
              invalid={!!errors.name}
              onChange={(e) => set("name", e.target.value)}
            />
          )}
        </Field>

        {form.kind === "schedule" && <ScheduleFields form={form} errors={errors} set={set} />}
        {form.kind === "webhook" && (
          <WebhookFields form={form} errors={errors} set={set} ports={ports} />
        )}
        {form.kind === "event" && (
          <EventFields
            form={form}
            errors={errors}
            set={set}
            ports={ports}
            workflowId={workflowId}
            clientId={clientId}
          />
        )}

        {!editing && (
          <Checkbox
            label="Enabled from the start"
            checked={form.enabled}
            onChange={(e) => set("enabled", e.target.checked)}
          />
        )}
        {errors.form && (
          <p
            className="rounded-md border border-rose-200 bg-rose-50 p-3 text-sm text-rose-800"
            role="alert"
          >
            {errors.form}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" loading={create.isPending || patch.isPending}>
            {editing ? "Save trigger" : "Add trigger"}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

type Setter = <K extends keyof TriggerForm>(key: K, value: TriggerForm[K]) => void;

function ScheduleFields({
  form,
  errors,
  set,
}: {
  form: TriggerForm;
  errors: FormErrors;
  set: Setter;
}) {
  const preset = CRON_PRESETS.find((p) => p.cron === form.cron.trim())?.cron ?? "";
  return (
    <div className="grid gap-4 sm:grid-cols-2">
      <div className="space-y-2">
        <Field
          label="Cron expression"
          error={errors.cron}
          hint="minute hour day-of-month month weekday, e.g. 0 9 * * MON-FRI"
        >
          {(id) => (
            <Input
              id={id}
              value={form.cron}
              className="font-mono"
              invalid={!!errors.cron}
              onChange={(e) => set("cron", e.target.value)}
            />
          )}
        </Field>
        <Field label="Common schedules">
          {(id) => (
            <Select
              id={id}
              value={preset}
              onChange={(e) => e.target.value && set("cron", e.target.value)}
            >
              <option value="">Pick one to fill in the expression…</option>
              {CRON_PRESETS.map((p) => (
                <option key={p.cron} value={p.cron}>
                  {p.label} ({p.cron})
                </option>
              ))}
            </Select>
          )}
        </Field>
      </div>
      <div className="space-y-2">
        <Field
          label="Time zone"
          error={errors.timezone}
          hint="The cron's hours are read in this zone, daylight saving included."
        >
          {(id) => (
            <TimeZoneField
              id={id}
              value={form.timezone}
              invalid={!!errors.timezone}
              onChange={(z) => set("timezone", z)}
            />
          )}
        </Field>
        <Field
          label="Missed times"
          error={errors.missed}
          hint="When the server was down at a scheduled time."
        >
          {(id) => (
            <Select
              id={id}
              value={form.missed}
              onChange={(e) => set("missed", e.target.value as MissedPolicy)}
            >
              <option value="skip">Skip them</option>
              <option value="run_once">Run once for all of them</option>
            </Select>
          )}
        </Field>
      </div>
    </div>
  );
}

function WebhookFields({
  form,
  errors,
  set,
  ports,
}: {
  form: TriggerForm;
  errors: FormErrors;
  set: Setter;
  ports: PortChoice[];
}) {
  const rows = form.mappings;
  const update = (i: number, patch: Partial<(typeof rows)[number]>) =>
    set(
      "mappings",
      rows.map((r, j) => (j === i ? { ...r, ...patch } : r)),
    );
  return (
    <div className="space-y-4">
      <div className="grid items-start gap-4 sm:grid-cols-2">
        <div className="pt-5">
          <Checkbox
            label="Require a signature"
            checked={form.signed}
            onChange={(e) => set("signed", e.target.checked)}
          />
          <p className="mt-1 text-xs text-slate-500">
            Callers sign each body with the key shown once after saving (HMAC-SHA256).
          </p>
        </div>
        <Field
          label="Calls per minute"
          error={errors.ratePerMinute}
          hint="More calls than this are answered 429."
        >
          {(id) => (
            <Input
              id={id}
              type="number"
              min={1}
              max={MAX_RATE}
              value={form.ratePerMinute}
              invalid={!!errors.ratePerMinute}
              onChange={(e) => set("ratePerMinute", e.target.value)}
            />
          )}
        </Field>
      </div>
      <fieldset className="space-y-2">
        <legend className="text-xs font-medium text-slate-700">Inputs from the request body</legend>
        <p className="text-xs text-slate-500">
          Each row fills a node input with a part of the JSON body, named by a JSON pointer:{" "}
          <code className="font-mono">/order/total</code> takes <code>order.total</code>; an empty
          pointer takes the whole body.
        </p>
        {rows.map((r, i) => (
          <MappingRowFields
            key={i}
            index={i}
            row={r}
            ports={withCurrent(ports, r.target)}
            error={errors[`mapping.${i}`]}
            onChange={(p) => update(i, p)}
            onRemove={() =>
              set(
                "mappings",
                rows.filter((_, j) => j !== i),
              )
            }
          />
        ))}
        {errors.mappings && (
          <p className="text-xs text-rose-700" role="alert">
            {errors.mappings}
          </p>
        )}
        {ports.length === 0 ? (
          <p className="text-xs text-slate-500">
            Every input of this graph is connected or it has no nodes yet: there is nothing to fill.
          </p>
        ) : (
          <Button size="sm" onClick={() => set("mappings", [...rows, { target: "", pointer: "" }])}>
            + Add an input
          </Button>
        )}
      </fieldset>
    </div>
  );
}

function MappingRowFields({
  index,
  row,
  ports,
  error,
  onChange,
  onRemove,
}: {
  index: number;
  row: { target: string; pointer: string };
  ports: PortChoice[];
  error?: string;
  onChange: (patch: Partial<{ target: string; pointer: string }>) => void;
  onRemove: () => void;
}) {
  const n = index + 1;
  return (
    <div className="space-y-1" data-testid={`mapping-${index}`}>
      <div className="flex items-center gap-2">
        <Select
          aria-label={`Input ${n}`}
          className="w-1/2"
          value={row.target}
          aria-invalid={!!error || undefined}
          onChange={(e) => onChange({ target: e.target.value })}
        >
          <option value="">Choose an input…</option>
          {ports.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
              {p.type ? ` (${p.type})` : ""}
            </option>
          ))}
        </Select>
        <span aria-hidden="true" className="text-slate-500">
          ←
        </span>
        <Input
          aria-label={`JSON pointer ${n}`}
          placeholder="/path/in/body"
          className="w-1/2 font-mono"
          value={row.pointer}
          invalid={!!error}
          onChange={(e) => onChange({ pointer: e.target.value })}
        />
        <Button size="sm" variant="ghost" onClick={onRemove} aria-label={`Remove input ${n}`}>
          ×
        </Button>
      </div>
      {error && (
        <p className="text-xs text-rose-700" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function EventFields({
  form,
  errors,
  set,
  ports,
  workflowId,
  clientId,
}: {
  form: TriggerForm;
  errors: FormErrors;
  set: Setter;
  ports: PortChoice[];
  workflowId: number;
  clientId: number;
}) {
  const statuses = useTaskWorkflow();
  const workflows = useWorkflows(form.on === "run_finished" ? clientId : undefined);
  return (
    <div className="grid gap-4 sm:grid-cols-2">
      <Field label="When" error={errors.on}>
        {(id) => (
          <Select
            id={id}
            value={form.on}
            onChange={(e) => {
              set("on", e.target.value as EventKind);
              set("status", "");
            }}
          >
            {EVENT_KINDS.map((k) => (
              <option key={k.on} value={k.on}>
                {k.label}
              </option>
            ))}
          </Select>
        )}
      </Field>
      {form.on === "task_status_changed" && (
        <Field
          label="Status"
          error={errors.status}
          hint="Fires when a task of the client moves into it."
        >
          {(id) => (
            <Select
              id={id}
              value={form.status}
              aria-invalid={!!errors.status || undefined}
              onChange={(e) => set("status", e.target.value)}
            >
              <option value="">Choose a status…</option>
              {(statuses.data?.statuses ?? []).map((s) => (
                <option key={s.name} value={s.name}>
                  {s.name}
                </option>
              ))}
              {form.status && !statuses.data?.statuses.some((s) => s.name === form.status) && (
                <option value={form.status}>{form.status}</option>
              )}
            </Select>
          )}
        </Field>
      )}
      {form.on === "run_finished" && (
        <>
          <Field label="Workflow" error={errors.sourceWorkflowId} hint="Whose runs are watched.">
            {(id) => (
              <Select
                id={id}
                value={form.sourceWorkflowId}
                onChange={(e) => set("sourceWorkflowId", e.target.value)}
              >
                <option value="">Choose a workflow…</option>
                {(workflows.data?.items ?? [])
                  .filter((w) => w.id !== workflowId)
                  .map((w) => (
                    <option key={w.id} value={w.id}>
                      {w.name}
                    </option>
                  ))}
              </Select>
            )}
          </Field>
          <Field label="Ending" error={errors.status}>
            {(id) => (
              <Select id={id} value={form.status} onChange={(e) => set("status", e.target.value)}>
                <option value="">However it ends</option>
                {RUN_END_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </Select>
            )}
          </Field>
        </>
      )}
      {form.on === "import_finished" && (
        <Field label="Outcome" error={errors.status}>
          {(id) => (
            <Select id={id} value={form.status} onChange={(e) => set("status", e.target.value)}>
              <option value="">Applied or failed</option>
              {IMPORT_END_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </Select>
          )}
        </Field>
      )}
      <Field
        label="Event goes into"
        error={errors.input}
        hint="The input that receives the event as JSON (the task or the run)."
      >
        {(id) => (
          <Select id={id} value={form.input} onChange={(e) => set("input", e.target.value)}>
            <option value="">No input: just start the run</option>
            {withCurrent(ports, form.input).map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
                {p.type ? ` (${p.type})` : ""}
              </option>
            ))}
          </Select>
        )}
      </Field>
    </div>
  );
}
