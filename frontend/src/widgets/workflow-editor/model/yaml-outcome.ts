import type { ManifestError, ParseResult, ParsedWorkflow } from "@/entities/workflow";

/** What a parsed manifest means for the draft of workflow `clientId`'s workflow. */
export type YamlOutcome =
  { kind: "apply"; workflow: ParsedWorkflow } | { kind: "mistake"; mistake: ManifestError };

/**
 * A manifest whose text parses replaces the draft even when its graph has
 * problems (the canvas shows those too, as it does for a drawn graph); one
 * naming another client is refused, since a workflow never changes client.
 */
export function yamlOutcome(
  result: ParseResult,
  clientId: number,
  clientName?: string,
): YamlOutcome {
  if (result.error || !result.workflow)
    return {
      kind: "mistake",
      mistake: result.error ?? { message: "The text is not a Workflow manifest." },
    };
  if (result.workflow.clientId !== clientId)
    return {
      kind: "mistake",
      mistake: {
        message: `The manifest's client label names another client; this workflow belongs to ${clientName ?? "its client"} and cannot move.`,
      },
    };
  return { kind: "apply", workflow: result.workflow };
}

/** "line 3, column 5: message", or just the message when the place is unknown. */
export function describeMistake(m: ManifestError): string {
  if (m.line == null) return m.message;
  return `Line ${m.line}${m.column != null ? `, column ${m.column}` : ""}: ${m.message}`;
}
