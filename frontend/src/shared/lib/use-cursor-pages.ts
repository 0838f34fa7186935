import { useCallback, useState } from "react";

/**
 * Next/previous over a cursor list: keeps the cursors of the pages visited so
 * "previous" goes back without a total or an OFFSET. `after` is the cursor of
 * the current page (undefined on the first); `reset` goes back to the first
 * page, e.g. when a filter changes.
 */
export function useCursorPages() {
  const [stack, setStack] = useState<string[]>([]);
  const next = useCallback((cursor: string) => setStack((s) => [...s, cursor]), []);
  const previous = useCallback(() => setStack((s) => s.slice(0, -1)), []);
  const reset = useCallback(() => setStack([]), []);
  return { after: stack.at(-1), pageIndex: stack.length, next, previous, reset };
}
