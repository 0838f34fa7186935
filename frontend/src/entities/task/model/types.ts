import type { Schemas } from "@/shared/api";

export type Task = Schemas["Task"];
export type TaskPage = Schemas["TaskPage"];
export type Priority = Schemas["Priority"];
export type TaskStatus = Schemas["Status"];
export type TaskWorkflow = Schemas["TaskWorkflow"];
export type TaskSettings = Schemas["TaskSettings"];
export type TaskComment = Schemas["Comment"];
export type TaskAttachment = Schemas["Attachment"];
export type TaskActivity = Schemas["Activity"];
export type Notification = Schemas["Notification"];
export type Inbox = Schemas["Inbox"];
export type NotificationKind = Schemas["NotificationKind"];

/** What each kind of notification is called (the inbox, the preferences). */
export const NOTIFICATION_KIND_LABELS: Record<NotificationKind, string> = {
  assigned: "Assigned to you",
  mentioned: "Mentions",
  status_changed: "Status changes",
  sla_at_risk: "SLA at risk",
  sla_breached: "SLA breached",
  workflow: "Workflow notifications",
};

/** A kind's label; a kind this build does not know yet reads as its words. */
export function notificationKindLabel(kind: string): string {
  return NOTIFICATION_KIND_LABELS[kind as NotificationKind] ?? kind.replace(/_/g, " ");
}

export const priorities: Priority[] = ["critical", "high", "medium", "low"];

export const priorityLabels: Record<Priority, string> = {
  low: "Low",
  medium: "Medium",
  high: "High",
  critical: "Critical",
};

/** Whether the workflow allows moving from one status to another (ids). */
export function isTransitionAllowed(w: TaskWorkflow, fromId: number, toId: number): boolean {
  if (fromId === toId) return true;
  const name = (id: number) => w.statuses.find((s) => s.id === id)?.name;
  const from = name(fromId);
  const to = name(toId);
  return w.transitions.some((t) => t.from === from && t.to === to);
}
