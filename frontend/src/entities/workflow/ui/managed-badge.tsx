import { Badge } from "@/shared/ui";
import { isClusterManaged, type ManagedFields } from "../manifest";

/** "Managed in the cluster" for workflows kept as manifests; nothing for the others. */
export function ManagedBadge({ workflow }: { workflow: ManagedFields }) {
  if (!isClusterManaged(workflow)) return null;
  const where = [workflow.resourceNamespace, workflow.resourceName].filter(Boolean).join("/");
  return (
    <span
      data-testid="managed-badge"
      className="whitespace-nowrap"
      title={where ? `Workflow resource ${where}` : "Kept as a Workflow manifest in the cluster"}
    >
      <Badge tone="indigo">Managed in the cluster</Badge>
    </span>
  );
}
