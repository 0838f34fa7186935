export {
  triggerKeys,
  useCreateTrigger,
  useDeleteTrigger,
  useFirings,
  usePatchTrigger,
  useTriggers,
  type CreatedTrigger,
  type EventConfig,
  type EventKind,
  type Firing,
  type FiringOutcome,
  type MissedPolicy,
  type ScheduleConfig,
  type Trigger,
  type TriggerConfig,
  type TriggerKind,
  type WebhookConfig,
} from "./api";
export {
  EVENT_KINDS,
  FIRING_TONES,
  RUN_END_STATUSES,
  IMPORT_END_STATUSES,
  TRIGGER_KINDS,
  describeTrigger,
  triggerKindName,
} from "./model/describe";
export {
  COMMON_TIME_ZONES,
  browserTimeZone,
  formatInZone,
  isTimeZone,
  sameWallClock,
} from "./model/time";
export { revealedWebhooks, useRevealedWebhooks, type RevealedWebhook } from "./model/revealed";
export { FiringOutcomeBadge } from "./ui/badges";
export { CopyField } from "./ui/copy-field";
export { TimeZoneField } from "./ui/time-zone-field";
export { WebhookSecretDialog } from "./ui/webhook-secret-dialog";
