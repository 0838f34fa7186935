import { ApiError, errorMessage } from "@/shared/api";

/** A sentence for an import the server refused, naming the file. */
export function importErrorMessage(error: unknown, fileName: string): string {
  if (error instanceof ApiError) {
    if (error.code === "invalid_manifest") {
      const at = error.details as { line?: number | null; column?: number | null } | undefined;
      const place =
        at?.line != null
          ? ` (line ${at.line}${at.column != null ? `, column ${at.column}` : ""})`
          : "";
      return `${fileName} is not a valid Workflow manifest${place}: ${error.message}`;
    }
    if (error.code === "workflow_managed_in_cluster")
      return `${fileName} names a workflow that is managed in the cluster; change it there, or rename the manifest (metadata.name) to import it as a new workflow.`;
    if (error.status === 404)
      return `${fileName} names a client (label katalusis.io/client) you do not work for.`;
  }
  return `${fileName} was not imported: ${errorMessage(error)}`;
}
