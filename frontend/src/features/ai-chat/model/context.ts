export type PageContextKind = "workflow" | "run" | "task";
export interface PageContext {
  kind: PageContextKind;
  id: number;
}

/**
 * The object on the current page, from the route: the workflow editor,
 * a run page, or a task open in a task view (`?task=`). The server checks
 * that the user may see it before the assistant hears of it.
 */
export function pageContext(pathname: string, search: string): PageContext | null {
  const id = (s: string | undefined) => {
    const n = Number(s);
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  };
  const workflow = /^\/manager\/workflows\/(\d+)/.exec(pathname);
  if (workflow) {
    const n = id(workflow[1]);
    return n ? { kind: "workflow", id: n } : null;
  }
  const run = /^\/(admin|manager|client)\/runs\/(\d+)/.exec(pathname);
  if (run) {
    const n = id(run[2]);
    return n ? { kind: "run", id: n } : null;
  }
  const task = id(new URLSearchParams(search).get("task") ?? undefined);
  if (task && /\/tasks\/?$/.test(pathname)) return { kind: "task", id: task };
  return null;
}
