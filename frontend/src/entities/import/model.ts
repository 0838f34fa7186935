import type { Schemas } from "@/shared/api";

export type ImportSession = Schemas["ImportView"];
export type Preview = Schemas["Preview"];
export type DryRun = Schemas["DryRun"];
export type Mapping = Schemas["Mapping"];
export type ImportOptions = Schemas["ImportOptions"];
export type Source = Schemas["ImportSource"];

/** The task fields in the order the mapping table shows them. */
export const FIELDS = [
  "title",
  "description",
  "status",
  "priority",
  "assignees",
  "dueDate",
  "tags",
  "externalId",
] as const;
export type ImportField = (typeof FIELDS)[number];

const LABELS: Record<ImportField, string> = {
  title: "Title",
  description: "Description",
  status: "Status",
  priority: "Priority",
  assignees: "Assignees",
  dueDate: "Due date",
  tags: "Tags",
  externalId: "External id",
};

export function fieldLabel(f: ImportField): string {
  return LABELS[f];
}
