import { Badge } from "@/shared/ui";

const tones: Record<string, "slate" | "sky" | "green" | "rose" | "amber" | "indigo"> = {
  pending: "slate",
  queued: "slate",
  running: "sky",
  waiting: "indigo",
  succeeded: "green",
  failed: "rose",
  cancelled: "amber",
  skipped: "slate",
};

export function RunStatusBadge({ status }: { status: string }) {
  return <Badge tone={tones[status] ?? "slate"}>{status}</Badge>;
}

/**
 * Canvas colours per node status. Each is also the background of a status badge
 * with white text, so every one keeps at least 4.5:1 contrast against white
 * (WCAG AA for normal text); pending is the darker grey and skipped the lighter.
 */
export const STATUS_COLORS: Record<string, string> = {
  pending: "#475569", // slate-600, 7.6:1
  queued: "#475569", // slate-600, 7.6:1
  running: "#0369a1", // sky-700, 5.9:1
  waiting: "#4338ca", // indigo-700, 7.9:1
  succeeded: "#047857", // emerald-700, 5.5:1
  failed: "#be123c", // rose-700, 6.3:1
  cancelled: "#b45309", // amber-700, 5.0:1
  skipped: "#64748b", // slate-500, 4.8:1
};

/** The colour of a status missing from {@link STATUS_COLORS}. */
export const UNKNOWN_STATUS_COLOR = "#475569";
