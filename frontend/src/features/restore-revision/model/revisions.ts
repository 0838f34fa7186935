export function newestFirst<T extends { revision: number }>(revisions: readonly T[]): T[] {
  return [...revisions].sort((a, b) => b.revision - a.revision);
}

export function restoredMessage(revision: number): string {
  return `Restored revision ${revision} into the editor. Save to keep it.`;
}
