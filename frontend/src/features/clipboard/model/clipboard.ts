import type { Graph } from "@/entities/workflow";

/** Where copied nodes live: readable across workflows and tabs without clipboard permission. */
export const CLIPBOARD_KEY = "katalusis.clipboard";

/** Copied nodes as they travel through storage and the system clipboard. */
export interface Clipboard extends Graph {
  kind: "katalusis/nodes";
}

export function isClipboard(v: unknown): v is Clipboard {
  return (
    !!v &&
    typeof v === "object" &&
    (v as Clipboard).kind === "katalusis/nodes" &&
    Array.isArray((v as Clipboard).nodes)
  );
}

export function toClipboard(fragment: Graph): Clipboard {
  return { kind: "katalusis/nodes", nodes: fragment.nodes, edges: fragment.edges };
}

/** The clipboard in `raw`, or null when it is empty or someone else's data. */
export function parseClipboard(raw: string | null): Clipboard | null {
  if (!raw) return null;
  try {
    const clip: unknown = JSON.parse(raw);
    return isClipboard(clip) ? clip : null;
  } catch {
    return null;
  }
}

export function copiedMessage(count: number): string {
  return `Copied ${count} node${count === 1 ? "" : "s"}.`;
}
