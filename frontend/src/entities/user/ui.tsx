import { Badge } from "@/shared/ui";
import type { Role } from "@/shared/api";

const tone = { admin: "indigo", manager: "sky", client: "green" } as const;

export function RoleBadge({ role }: { role: Role }) {
  return <Badge tone={tone[role]}>{role}</Badge>;
}
