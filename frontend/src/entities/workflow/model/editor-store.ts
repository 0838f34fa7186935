import { createStore } from "zustand/vanilla";
import type { Graph, GraphEdge, GraphNode, TemplateRef } from "./types";

const HISTORY_LIMIT = 200;
/** Edits with the same key within this window form one undo step (typing in a field). */
const COALESCE_MS = 800;

export interface Clipboard {
  kind: "katalusis/nodes";
  nodes: GraphNode[];
  edges: GraphEdge[];
}

interface Snapshot {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface EditorState {
  nodes: GraphNode[];
  edges: GraphEdge[];
  selectedNodes: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
  past: Snapshot[];
  future: Snapshot[];
  /** Bumped by every change to nodes/edges; compare with `savedVersion` for "unsaved". */
  version: number;
  savedVersion: number;
  lastCoalesce: { key: string; at: number } | null;

  load: (graph: Graph) => void;
  markSaved: () => void;
  /** Replaces the whole graph as one undoable edit (restoring a revision). */
  replace: (graph: Graph) => void;
  addNode: (
    template: TemplateRef,
    position: { x: number; y: number },
    params?: Record<string, unknown>,
  ) => string;
  connect: (edge: Omit<GraphEdge, "id">) => string;
  updateNode: (id: string, patch: Partial<Omit<GraphNode, "id">>, coalesceKey?: string) => void;
  /** Position updates while dragging: no history entry (call `beginMove` at drag start). */
  moveNodes: (moves: { id: string; position: { x: number; y: number } }[]) => void;
  beginMove: () => void;
  setPositions: (positions: Record<string, { x: number; y: number }>) => void;
  removeSelected: () => void;
  removeEdges: (ids: string[]) => void;
  select: (nodes: string[], edges?: string[]) => void;
  selectAll: () => void;
  copy: () => Clipboard | null;
  paste: (clip: Clipboard, offset?: { x: number; y: number }) => string[];
  duplicate: () => string[];
  undo: () => void;
  redo: () => void;
}

export function isClipboard(v: unknown): v is Clipboard {
  return (
    !!v &&
    typeof v === "object" &&
    (v as Clipboard).kind === "katalusis/nodes" &&
    Array.isArray((v as Clipboard).nodes)
  );
}

function uniqueId(prefix: string, taken: Set<string>): string {
  let i = taken.size + 1;
  while (taken.has(`${prefix}${i}`)) i++;
  const id = `${prefix}${i}`;
  taken.add(id);
  return id;
}

/** A node id derived from the template name: `upper_1`, `upper_2`, … */
function nodeIdFor(template: TemplateRef, taken: Set<string>): string {
  const base =
    template.name
      .split(".")
      .pop()!
      .replace(/[^a-zA-Z0-9_-]/g, "_")
      .slice(0, 40) || "node";
  let i = 1;
  while (taken.has(`${base}_${i}`)) i++;
  const id = `${base}_${i}`;
  taken.add(id);
  return id;
}

/**
 * Remaps pasted nodes to fresh ids and keeps only edges between pasted nodes;
 * pure so the rule is unit-tested on its own.
 */
export function remapPaste(
  clip: Clipboard,
  existingNodeIds: Iterable<string>,
  existingEdgeIds: Iterable<string>,
  offset: { x: number; y: number },
): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const takenNodes = new Set(existingNodeIds);
  const takenEdges = new Set(existingEdgeIds);
  const map = new Map<string, string>();
  const nodes = clip.nodes.map((n) => {
    const id = nodeIdFor(n.template, takenNodes);
    map.set(n.id, id);
    return {
      ...structuredClone(n),
      id,
      position: { x: n.position.x + offset.x, y: n.position.y + offset.y },
    };
  });
  const edges = clip.edges
    .filter((e) => map.has(e.source) && map.has(e.target))
    .map((e) => ({
      ...e,
      id: uniqueId("e", takenEdges),
      source: map.get(e.source)!,
      target: map.get(e.target)!,
    }));
  return { nodes, edges };
}

export function createEditorStore(initial?: Graph) {
  return createStore<EditorState>()((set, get) => {
    /** Records the current graph for undo before a change. */
    const record = (coalesceKey?: string) => {
      const s = get();
      const now = Date.now();
      if (
        coalesceKey &&
        s.lastCoalesce?.key === coalesceKey &&
        now - s.lastCoalesce.at < COALESCE_MS
      ) {
        set({ lastCoalesce: { key: coalesceKey, at: now } });
        return;
      }
      set({
        past: [...s.past.slice(-HISTORY_LIMIT + 1), { nodes: s.nodes, edges: s.edges }],
        future: [],
        lastCoalesce: coalesceKey ? { key: coalesceKey, at: now } : null,
      });
    };
    const changed = (patch: Partial<EditorState>) =>
      set((s) => ({ ...patch, version: s.version + 1 }));

    return {
      nodes: initial?.nodes ?? [],
      edges: initial?.edges ?? [],
      selectedNodes: new Set(),
      selectedEdges: new Set(),
      past: [],
      future: [],
      version: 0,
      savedVersion: 0,
      lastCoalesce: null,

      load: (graph) =>
        set((s) => ({
          nodes: graph.nodes,
          edges: graph.edges,
          past: [],
          future: [],
          selectedNodes: new Set(),
          selectedEdges: new Set(),
          version: s.version + 1,
          savedVersion: s.version + 1,
          lastCoalesce: null,
        })),
      markSaved: () => set((s) => ({ savedVersion: s.version })),
      replace: (graph) => {
        record();
        changed({
          nodes: graph.nodes,
          edges: graph.edges,
          selectedNodes: new Set(),
          selectedEdges: new Set(),
        });
      },

      addNode: (template, position, params = {}) => {
        record();
        const id = nodeIdFor(template, new Set(get().nodes.map((n) => n.id)));
        changed({
          nodes: [...get().nodes, { id, template, position, params }],
          selectedNodes: new Set([id]),
          selectedEdges: new Set(),
        });
        return id;
      },

      connect: (edge) => {
        record();
        const id = uniqueId("e", new Set(get().edges.map((e) => e.id)));
        changed({ edges: [...get().edges, { ...edge, id }] });
        return id;
      },

      updateNode: (id, patch, coalesceKey) => {
        record(coalesceKey ? `${id}:${coalesceKey}` : undefined);
        changed({ nodes: get().nodes.map((n) => (n.id === id ? { ...n, ...patch } : n)) });
      },

      beginMove: () => record(),
      moveNodes: (moves) => {
        const pos = new Map(moves.map((m) => [m.id, m.position]));
        changed({
          nodes: get().nodes.map((n) => (pos.has(n.id) ? { ...n, position: pos.get(n.id)! } : n)),
        });
      },
      setPositions: (positions) => {
        record();
        changed({
          nodes: get().nodes.map((n) =>
            positions[n.id] ? { ...n, position: positions[n.id]! } : n,
          ),
        });
      },

      removeSelected: () => {
        const { selectedNodes, selectedEdges, nodes, edges } = get();
        if (selectedNodes.size === 0 && selectedEdges.size === 0) return;
        record();
        changed({
          nodes: nodes.filter((n) => !selectedNodes.has(n.id)),
          edges: edges.filter(
            (e) =>
              !selectedEdges.has(e.id) &&
              !selectedNodes.has(e.source) &&
              !selectedNodes.has(e.target),
          ),
          selectedNodes: new Set(),
          selectedEdges: new Set(),
        });
      },
      removeEdges: (ids) => {
        if (!ids.length) return;
        record();
        const drop = new Set(ids);
        changed({ edges: get().edges.filter((e) => !drop.has(e.id)) });
      },

      select: (nodes, edges = []) =>
        set({ selectedNodes: new Set(nodes), selectedEdges: new Set(edges) }),
      selectAll: () =>
        set({
          selectedNodes: new Set(get().nodes.map((n) => n.id)),
          selectedEdges: new Set(get().edges.map((e) => e.id)),
        }),

      copy: () => {
        const { nodes, edges, selectedNodes } = get();
        if (selectedNodes.size === 0) return null;
        return {
          kind: "katalusis/nodes",
          nodes: nodes.filter((n) => selectedNodes.has(n.id)),
          edges: edges.filter((e) => selectedNodes.has(e.source) && selectedNodes.has(e.target)),
        };
      },

      paste: (clip, offset = { x: 40, y: 40 }) => {
        if (!clip.nodes.length) return [];
        record();
        const s = get();
        const { nodes, edges } = remapPaste(
          clip,
          s.nodes.map((n) => n.id),
          s.edges.map((e) => e.id),
          offset,
        );
        changed({
          nodes: [...s.nodes, ...nodes],
          edges: [...s.edges, ...edges],
          selectedNodes: new Set(nodes.map((n) => n.id)),
          selectedEdges: new Set(edges.map((e) => e.id)),
        });
        return nodes.map((n) => n.id);
      },

      duplicate: () => {
        const clip = get().copy();
        return clip ? get().paste(clip) : [];
      },

      undo: () => {
        const { past, future, nodes, edges } = get();
        const prev = past[past.length - 1];
        if (!prev) return;
        changed({
          nodes: prev.nodes,
          edges: prev.edges,
          past: past.slice(0, -1),
          future: [...future, { nodes, edges }],
          lastCoalesce: null,
        });
      },
      redo: () => {
        const { past, future, nodes, edges } = get();
        const next = future[future.length - 1];
        if (!next) return;
        changed({
          nodes: next.nodes,
          edges: next.edges,
          past: [...past, { nodes, edges }],
          future: future.slice(0, -1),
          lastCoalesce: null,
        });
      },
    };
  });
}

export type EditorStore = ReturnType<typeof createEditorStore>;
