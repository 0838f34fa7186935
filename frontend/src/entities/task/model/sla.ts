export type SlaState = "on_track" | "at_risk" | "breached";

export interface SlaInput {
  slaRiskAt?: string | null;
  slaDueAt?: string | null;
  completedAt?: string | null;
}

/**
 * The SLA state at `now`, by the server's rule (`tasks::model::sla_state`):
 * the deadlines are frozen into the task (risk at 80 % of the target, due at
 * 100 %), both boundaries are inclusive, and a completed task is judged at the
 * moment it was completed. `null`: the task's priority has no SLA.
 */
export function slaState(task: SlaInput, now: number): SlaState | null {
  if (!task.slaDueAt || !task.slaRiskAt) return null;
  const at = task.completedAt ? Date.parse(task.completedAt) : now;
  if (at >= Date.parse(task.slaDueAt)) return "breached";
  if (at >= Date.parse(task.slaRiskAt)) return "at_risk";
  return "on_track";
}

/** Milliseconds until the state can next change (for re-rendering), or null. */
export function nextSlaChange(task: SlaInput, now: number): number | null {
  if (!task.slaDueAt || !task.slaRiskAt || task.completedAt) return null;
  for (const t of [Date.parse(task.slaRiskAt), Date.parse(task.slaDueAt)])
    if (t > now) return t - now;
  return null;
}

export const slaLabels: Record<SlaState, string> = {
  on_track: "On track",
  at_risk: "At risk",
  breached: "Breached",
};
