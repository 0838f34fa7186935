import { Badge } from "@/shared/ui";
import type { FiringOutcome } from "../api";
import { FIRING_TONES } from "../model/describe";

export function FiringOutcomeBadge({ outcome }: { outcome: FiringOutcome }) {
  return <Badge tone={FIRING_TONES[outcome] ?? "slate"}>{outcome}</Badge>;
}
