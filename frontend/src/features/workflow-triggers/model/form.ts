import type {
  EventKind,
  MissedPolicy,
  Trigger,
  TriggerConfig,
  TriggerKind,
} from "@/entities/trigger";

export interface MappingRow {
  /** `node.port` that receives the value. */
  target: string;
  /** JSON pointer into the request body; empty for the whole body. */
  pointer: string;
}

/** What the trigger form edits: every kind's fields, so switching kinds keeps what was typed. */
export interface TriggerForm {
  kind: TriggerKind;
  name: string;
  enabled: boolean;
  cron: string;
  timezone: string;
  missed: MissedPolicy;
  /** A schedule's run inputs; not edited here, kept as they are. */
  scheduleInputs: Record<string, unknown>;
  signed: boolean;
  ratePerMinute: string;
  mappings: MappingRow[];
  on: EventKind;
  status: string;
  sourceWorkflowId: string;
  input: string;
}

/** The name a new trigger of each kind starts with. */
export const DEFAULT_NAMES: Record<TriggerKind, string> = {
  schedule: "Schedule",
  webhook: "Webhook",
  event: "Event",
};

export const CRON_PRESETS: { cron: string; label: string }[] = [
  { cron: "0 9 * * MON-FRI", label: "Weekdays at 09:00" },
  { cron: "0 8 * * *", label: "Every day at 08:00" },
  { cron: "0 * * * *", label: "Every hour" },
  { cron: "*/15 * * * *", label: "Every 15 minutes" },
  { cron: "0 9 * * MON", label: "Mondays at 09:00" },
  { cron: "0 6 1 * *", label: "The 1st of each month at 06:00" },
];

/** The most webhook calls a minute the server accepts. */
export const MAX_RATE = 600;

export function newTriggerForm(kind: TriggerKind, timezone: string): TriggerForm {
  return {
    kind,
    name: DEFAULT_NAMES[kind],
    enabled: true,
    cron: CRON_PRESETS[0]!.cron,
    timezone,
    missed: "skip",
    scheduleInputs: {},
    signed: true,
    ratePerMinute: "60",
    mappings: [],
    on: "task_created",
    status: "",
    sourceWorkflowId: "",
    input: "",
  };
}

/** The form for editing an existing trigger. */
export function formFromTrigger(t: Trigger, timezone: string): TriggerForm {
  const f = formFromConfig(t.name, t.config, timezone);
  f.enabled = t.enabled;
  return f;
}

/** The form for a trigger's name and settings (a stored trigger's, or a suggested one). */
export function formFromConfig(name: string, c: TriggerConfig, timezone: string): TriggerForm {
  const f = newTriggerForm(c.kind, timezone);
  f.name = name;
  switch (c.kind) {
    case "schedule":
      f.cron = c.cron;
      f.timezone = c.timezone;
      f.missed = c.missed ?? "skip";
      f.scheduleInputs = (c.inputs ?? {}) as Record<string, unknown>;
      break;
    case "webhook":
      f.signed = c.signed ?? false;
      f.ratePerMinute = String(c.ratePerMinute ?? 60);
      f.mappings = Object.entries(c.inputs ?? {}).map(([target, pointer]) => ({ target, pointer }));
      break;
    case "event":
      f.on = c.on;
      f.status = c.status ?? "";
      f.sourceWorkflowId = c.sourceWorkflowId != null ? String(c.sourceWorkflowId) : "";
      f.input = c.input ?? "";
      break;
  }
  return f;
}

export type FormErrors = Record<string, string>;

/**
 * The API's `config` for the form, or what is wrong with it. Checks only
 * what can be told without the server (the shape of a cron expression, a
 * zone the browser knows, JSON pointers); the server judges the rest and
 * its field errors land on the same keys (see {@link errorKeyFor}).
 */
export function buildTriggerConfig(
  form: TriggerForm,
  isTimeZone: (zone: string) => boolean,
): { config: TriggerConfig | null; errors: FormErrors } {
  const errors: FormErrors = {};
  if (!form.name.trim()) errors.name = "Give the trigger a name.";
  let config: TriggerConfig | null = null;
  switch (form.kind) {
    case "schedule": {
      const cron = form.cron.trim().replace(/\s+/g, " ");
      const fields = cron ? cron.split(" ").length : 0;
      if (fields !== 5 && fields !== 6)
        errors.cron =
          "Needs five fields (minute hour day month weekday), or six with seconds first.";
      if (!isTimeZone(form.timezone))
        errors.timezone = `“${form.timezone}” is not a time zone name such as Europe/Berlin.`;
      config = {
        kind: "schedule",
        cron,
        timezone: form.timezone,
        missed: form.missed,
        inputs: form.scheduleInputs as Record<string, never>,
      };
      break;
    }
    case "webhook": {
      const rate = Number(form.ratePerMinute);
      if (!Number.isInteger(rate) || rate < 1 || rate > MAX_RATE)
        errors.ratePerMinute = `A whole number of calls a minute, 1 to ${MAX_RATE}.`;
      const inputs: Record<string, string> = {};
      form.mappings.forEach((m, i) => {
        const pointer = m.pointer.trim();
        if (!m.target && !pointer) return;
        if (!m.target) errors[`mapping.${i}`] = "Choose the input that receives this value.";
        else if (pointer !== "" && !pointer.startsWith("/"))
          errors[`mapping.${i}`] =
            "A JSON pointer starts with / (leave it empty for the whole body).";
        else if (m.target in inputs) errors[`mapping.${i}`] = "This input is mapped twice.";
        else inputs[m.target] = pointer;
      });
      config = { kind: "webhook", signed: form.signed, ratePerMinute: rate, inputs };
      break;
    }
    case "event": {
      if (form.on === "task_status_changed" && !form.status)
        errors.status = "Choose the status that fires the trigger.";
      if (form.on === "run_finished" && !form.sourceWorkflowId)
        errors.sourceWorkflowId = "Choose the workflow whose runs are watched.";
      config = {
        kind: "event",
        on: form.on,
        ...(form.on !== "task_created" && form.status ? { status: form.status } : {}),
        ...(form.on === "run_finished" && form.sourceWorkflowId
          ? { sourceWorkflowId: Number(form.sourceWorkflowId) }
          : {}),
        ...(form.input ? { input: form.input } : {}),
      };
      break;
    }
  }
  return Object.keys(errors).length ? { config: null, errors } : { config, errors };
}

/**
 * Where a server field error is shown on the form: `config.cron` by the
 * cron field, `config.inputs.<node.port>` by that mapping's row, anything
 * unknown above the buttons (`form`).
 */
export function errorKeyFor(field: string, form: TriggerForm): string {
  if (field === "name") return "name";
  if (field.startsWith("config.inputs")) {
    const target = field.slice("config.inputs.".length);
    const i = form.mappings.findIndex((m) => m.target === target);
    return i >= 0 ? `mapping.${i}` : "mappings";
  }
  const key = field.startsWith("config.") ? field.slice("config.".length) : field;
  const known = [
    "cron",
    "timezone",
    "missed",
    "ratePerMinute",
    "signed",
    "on",
    "status",
    "sourceWorkflowId",
    "input",
  ];
  return known.includes(key) ? key : "form";
}

/** A 422's field errors placed on the form; several on one key are joined. */
export function placeServerErrors(fields: Record<string, string>, form: TriggerForm): FormErrors {
  const out: FormErrors = {};
  for (const [field, message] of Object.entries(fields)) {
    const key = errorKeyFor(field, form);
    const text = key === "form" ? `${field}: ${message}` : message;
    out[key] = out[key] ? `${out[key]} ${text}` : text;
  }
  return out;
}
