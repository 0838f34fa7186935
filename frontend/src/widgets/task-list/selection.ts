/**
 * Multi-select with shift-click ranges, over ids in display order. Pure, so
 * the rules are tested without a browser.
 */
export function toggleSelection(
  selected: ReadonlySet<number>,
  order: readonly number[],
  id: number,
  anchor: number | null,
  range: boolean,
): Set<number> {
  const next = new Set(selected);
  if (range && anchor != null) {
    const a = order.indexOf(anchor);
    const b = order.indexOf(id);
    if (a >= 0 && b >= 0) {
      // The range takes the anchor's state, as in a file manager.
      const on = selected.has(anchor);
      for (let i = Math.min(a, b); i <= Math.max(a, b); i++) {
        if (on) next.add(order[i]!);
        else next.delete(order[i]!);
      }
      return next;
    }
  }
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** Per-task refusals from a 422 `bulk_refused` answer (`details.failures`). */
export interface BulkFailure {
  taskId: number;
  code: string;
  message: string;
}

export function bulkFailures(details: unknown): BulkFailure[] {
  const failures = (details as { failures?: unknown } | null)?.failures;
  if (!Array.isArray(failures)) return [];
  return failures.filter(
    (f): f is BulkFailure => !!f && typeof f.taskId === "number" && typeof f.message === "string",
  );
}
