import type { EventKind, FiringOutcome, TriggerConfig, TriggerKind } from "../api";

export const TRIGGER_KINDS: { kind: TriggerKind; label: string; help: string }[] = [
  { kind: "schedule", label: "Schedule", help: "Runs at the times a cron expression names." },
  { kind: "webhook", label: "Webhook", help: "Runs when another system POSTs to a secret URL." },
  {
    kind: "event",
    label: "Event",
    help: "Runs when a task, an import or another workflow's run changes.",
  },
];

export function triggerKindName(kind: TriggerKind): string {
  return TRIGGER_KINDS.find((k) => k.kind === kind)?.label ?? kind;
}

export const EVENT_KINDS: { on: EventKind; label: string }[] = [
  { on: "task_created", label: "A task is created" },
  { on: "task_status_changed", label: "A task reaches a status" },
  { on: "run_finished", label: "A run of a workflow finishes" },
  { on: "import_finished", label: "A task import finishes" },
];

/** The outcomes an `import_finished` event may wait for. */
export const IMPORT_END_STATUSES = ["applied", "failed"] as const;

/** The run statuses a `run_finished` event may wait for. */
export const RUN_END_STATUSES = ["succeeded", "failed", "cancelled"] as const;

/**
 * One line saying when a trigger fires, e.g. `0 9 * * MON-FRI in
 * Europe/Berlin`. `workflowName` names the workflow a run event watches.
 */
export function describeTrigger(
  config: TriggerConfig,
  workflowName: (id: number) => string = (id) => `workflow #${id}`,
): string {
  switch (config.kind) {
    case "schedule":
      return `${config.cron} in ${config.timezone}${
        config.missed === "run_once" ? "; a missed time runs once" : ""
      }`;
    case "webhook": {
      const n = Object.keys(config.inputs ?? {}).length;
      return [
        config.signed ? "signed" : "unsigned",
        `up to ${config.ratePerMinute ?? 60} calls a minute`,
        n === 0 ? "no inputs mapped" : n === 1 ? "1 input mapped" : `${n} inputs mapped`,
      ].join(", ");
    }
    case "event": {
      const into = config.input ? `, into ${config.input}` : "";
      switch (config.on) {
        case "task_created":
          return `when a task is created${into}`;
        case "task_status_changed":
          return `when a task reaches ${config.status ?? "a status"}${into}`;
        case "run_finished": {
          const which =
            config.sourceWorkflowId != null ? workflowName(config.sourceWorkflowId) : "a workflow";
          return `when a run of ${which} ${config.status ?? "finishes"}${into}`;
        }
        case "import_finished":
          return `when a task import ${config.status === "failed" ? "fails" : config.status === "applied" ? "is applied" : "finishes"}${into}`;
      }
    }
  }
  return "";
}

export const FIRING_TONES: Record<FiringOutcome, "green" | "rose" | "slate" | "amber"> = {
  started: "green",
  failed: "rose",
  skipped: "slate",
  refused: "amber",
};
