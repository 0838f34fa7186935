import { formatDuration } from "@/shared/lib";

/** What the run's node list knows about one node, live or from the stored run. */
export interface NodeStatusFacts {
  status: string;
  attempt: number;
  reason?: string | null;
  message?: string | null;
  /** Milliseconds since the epoch. */
  startedAt?: number;
  finishedAt?: number;
  /** 1-based place among the ready nodes waiting for a slot. */
  queuePosition?: number | null;
}

const SKIP_REASONS: Record<string, string> = {
  branch: "branch not taken",
  upstream_failed: "upstream failed",
  cancelled: "run cancelled",
};

const words = (s: string) => s.replace(/_/g, " ");

/** Why a node was skipped, in words (`branch` → "branch not taken"). */
export function skipReasonLabel(reason: string | null | undefined): string | null {
  if (!reason) return null;
  return SKIP_REASONS[reason] ?? words(reason);
}

/**
 * The line under a node in the run's node list: how long it ran, or why it
 * did not. A node that never started says what it is (pending, queued,
 * skipped and why); only a node in status `waiting` says "waiting", with
 * what it waits for.
 */
export function nodeStatusLine(n: NodeStatusFacts, now: number): string {
  const parts: string[] = [];
  const elapsed =
    n.startedAt != null ? formatDuration(Math.max(0, (n.finishedAt ?? now) - n.startedAt)) : null;
  switch (n.status) {
    case "skipped":
      parts.push("skipped");
      if (skipReasonLabel(n.reason)) parts.push(skipReasonLabel(n.reason)!);
      return parts.join(" · ");
    case "waiting":
      // The server's messages already read "waiting for noah" / "waiting until …".
      parts.push(
        !n.message
          ? "waiting"
          : /^waiting\b/i.test(n.message)
            ? n.message
            : `waiting · ${n.message}`,
      );
      if (elapsed) parts.push(elapsed);
      break;
    case "pending":
    case "queued":
      parts.push(n.status);
      if (n.queuePosition) parts.push(`#${n.queuePosition} in the queue`);
      break;
    default:
      if (elapsed) parts.push(elapsed);
      else parts.push(n.status === "cancelled" ? "cancelled before it ran" : n.status);
      if (n.reason && n.reason !== n.status) parts.push(words(n.reason));
  }
  if (n.attempt > 1) parts.push(`attempt ${n.attempt}`);
  return parts.join(" · ");
}
