import type { Problem } from "@/entities/workflow";

/** Errors make a run fail on the server, so the editor refuses to start it; warnings do not. */
export function blocksRun(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === "error");
}

export const BLOCKED_MESSAGE = "Fix the problems listed below before running this workflow.";
