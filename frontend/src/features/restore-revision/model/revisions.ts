export function newestFirst<T extends { revision: number }>(revisions: readonly T[]): T[] {
  return [...revisions].sort((a, b) => b.revision - a.revision);
}

export function restoredMessage(revision: number): string {
  return `Restored revision ${revision} into the editor. Save to keep it.`;
}

/**
 * The revisions ticked for comparison after ticking or unticking `revision`:
 * at most two, the earlier pick giving way when a third is ticked.
 */
export function pickForCompare(picked: readonly number[], revision: number): number[] {
  if (picked.includes(revision)) return picked.filter((r) => r !== revision);
  return [...picked, revision].slice(-2);
}
