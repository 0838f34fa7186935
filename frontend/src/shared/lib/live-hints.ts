/**
 * A tab-wide bus of live hints: the one event stream per kind (tasks, runs)
 * publishes here what it received, so a view that needs to react (the
 * analytics dashboard refetching its counters) listens without opening a
 * second stream. Hints only: the listener refetches the truth.
 */
export type LiveHintKind = "task" | "run";

const bus = new EventTarget();

export function publishLiveHint(kind: LiveHintKind, data: unknown) {
  bus.dispatchEvent(new CustomEvent(kind, { detail: data }));
}

/** Calls `listener` for every hint of `kind`; returns the unsubscribe function. */
export function onLiveHint(kind: LiveHintKind, listener: (data: unknown) => void): () => void {
  const handler = (e: Event) => listener((e as CustomEvent).detail);
  bus.addEventListener(kind, handler);
  return () => bus.removeEventListener(kind, handler);
}
