import { Badge } from "@/shared/ui";

const tones: Record<string, "slate" | "sky" | "green" | "rose" | "amber" | "indigo"> = {
  pending: "slate",
  queued: "slate",
  running: "sky",
  succeeded: "green",
  failed: "rose",
  cancelled: "amber",
  skipped: "slate",
};

export function RunStatusBadge({ status }: { status: string }) {
  return <Badge tone={tones[status] ?? "slate"}>{status}</Badge>;
}

/** Canvas colours per node status. */
export const STATUS_COLORS: Record<string, string> = {
  pending: "#94a3b8",
  running: "#0ea5e9",
  succeeded: "#10b981",
  failed: "#e11d48",
  cancelled: "#f59e0b",
  skipped: "#cbd5e1",
};
