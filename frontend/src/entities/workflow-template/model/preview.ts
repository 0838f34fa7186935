/** One node of a preview, in the preview's own coordinates. */
export interface PreviewBox {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
  kind: string;
}

/** A connection from the right side of one box to the left side of another. */
export interface PreviewLine {
  id: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface PreviewLayout {
  width: number;
  height: number;
  boxes: PreviewBox[];
  lines: PreviewLine[];
}

/** The size an editor node roughly has, in graph units; the preview scales it with the graph. */
export const PREVIEW_NODE = { width: 180, height: 64 };
const PADDING = 24;

interface RawNode {
  id?: unknown;
  position?: { x?: unknown; y?: unknown };
  template?: { name?: unknown };
}
interface RawEdge {
  id?: unknown;
  source?: unknown;
  target?: unknown;
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * Boxes and lines for a small read-only picture of a stored graph, from the
 * node positions the editor saved. The graph arrives untyped, so anything
 * malformed (a node without a position, an edge to a missing node) is left
 * out rather than drawn wrong. Coordinates start at 0, padded, so the result
 * fits an SVG `viewBox="0 0 width height"`.
 */
export function previewLayout(graph: unknown): PreviewLayout {
  const g = (graph ?? {}) as { nodes?: unknown; edges?: unknown };
  const nodes = (Array.isArray(g.nodes) ? (g.nodes as RawNode[]) : []).filter(
    (n) => typeof n?.id === "string" && isNumber(n.position?.x) && isNumber(n.position?.y),
  );
  if (nodes.length === 0) return { width: 0, height: 0, boxes: [], lines: [] };
  const minX = Math.min(...nodes.map((n) => n.position!.x as number));
  const minY = Math.min(...nodes.map((n) => n.position!.y as number));
  const boxes: PreviewBox[] = nodes.map((n) => ({
    id: n.id as string,
    x: (n.position!.x as number) - minX + PADDING,
    y: (n.position!.y as number) - minY + PADDING,
    width: PREVIEW_NODE.width,
    height: PREVIEW_NODE.height,
    kind: typeof n.template?.name === "string" ? n.template.name : "",
  }));
  const byId = new Map(boxes.map((b) => [b.id, b]));
  const lines: PreviewLine[] = [];
  for (const [i, e] of (Array.isArray(g.edges) ? (g.edges as RawEdge[]) : []).entries()) {
    const a = byId.get(e?.source as string);
    const b = byId.get(e?.target as string);
    if (!a || !b) continue;
    lines.push({
      id: typeof e.id === "string" ? e.id : `edge-${i}`,
      x1: a.x + a.width,
      y1: a.y + a.height / 2,
      x2: b.x,
      y2: b.y + b.height / 2,
    });
  }
  const width = Math.max(...boxes.map((b) => b.x + b.width)) + PADDING;
  const height = Math.max(...boxes.map((b) => b.y + b.height)) + PADDING;
  return { width, height, boxes, lines };
}

/** An S-shaped curve between two ports, like the editor draws its edges. */
export function linePath(l: PreviewLine): string {
  const dx = Math.max(40, Math.abs(l.x2 - l.x1) / 2);
  return `M ${l.x1} ${l.y1} C ${l.x1 + dx} ${l.y1}, ${l.x2 - dx} ${l.y2}, ${l.x2} ${l.y2}`;
}

/**
 * The preview's `viewBox`: the layout, centred in at least `min` units, so
 * a graph of two nodes is drawn at the scale of a larger one rather than
 * blown up to fill the card.
 */
export function previewViewBox(
  layout: Pick<PreviewLayout, "width" | "height">,
  min = { width: 1100, height: 360 },
): string {
  const width = Math.max(layout.width, min.width);
  const height = Math.max(layout.height, min.height);
  return [-(width - layout.width) / 2, -(height - layout.height) / 2, width, height].join(" ");
}

/** Fill and outline per node kind; library nodes stay neutral. Chips naming the kinds use the same. */
const KIND_COLORS: Record<string, { fill: string; stroke: string }> = {
  "flow.condition": { fill: "#fef3c7", stroke: "#d97706" },
  "flow.approval": { fill: "#ede9fe", stroke: "#7c3aed" },
  "flow.notification": { fill: "#e0f2fe", stroke: "#0284c7" },
  "flow.task": { fill: "#d1fae5", stroke: "#059669" },
  "flow.wait": { fill: "#f1f5f9", stroke: "#64748b" },
};
const LIBRARY_COLORS = { fill: "#ffffff", stroke: "#94a3b8" };

export function kindColors(kind: string): { fill: string; stroke: string } {
  return KIND_COLORS[kind] ?? LIBRARY_COLORS;
}
