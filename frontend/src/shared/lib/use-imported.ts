import { useEffect, useState } from "react";

/**
 * A module imported on first use and handed to the component through state
 * rather than `lazy` and Suspense: React holds a freshly resolved Suspense
 * boundary back for up to 300 ms, and a component whose mount starts data
 * requests (a dashboard) would send them that much later. `null` until the
 * module is there; a failed import is thrown to the error boundary.
 */
export function importOnce<T>(load: () => Promise<T>) {
  let module: T | null = null;
  let pending: Promise<T> | null = null;
  const start = () =>
    (pending ??= load().then((m) => {
      module = m;
      return m;
    }));
  function useImported(): T | null {
    const [m, setM] = useState<T | null>(() => module);
    const [error, setError] = useState<unknown>(null);
    useEffect(() => {
      if (m) return;
      let live = true;
      start().then(
        (x) => live && setM(() => x),
        (e: unknown) => live && setError(() => e ?? new Error("import failed")),
      );
      return () => {
        live = false;
      };
    }, [m]);
    if (error) throw error;
    return m;
  }
  /**
   * Starts the import before the first render (from a route loader, or as
   * the importing module loads), so that render has the module. A failure
   * is left to the hook, which throws it to the error boundary.
   */
  useImported.preload = (): void => {
    start().catch(() => {});
  };
  return useImported;
}
