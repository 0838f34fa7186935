import { createStore } from "zustand/vanilla";
import {
  cloneSubgraph,
  extractSubgraph,
  nodeIdFor,
  uniqueId,
  type Graph,
  type GraphEdge,
  type GraphNode,
  type TemplateRef,
} from "@/entities/workflow";

const HISTORY_LIMIT = 200;
/** Edits with the same key within this window form one undo step (typing in a field). */
const COALESCE_MS = 800;

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
  /** The selected nodes and the edges between them, or null when nothing is selected. */
  copy: () => Graph | null;
  /** Inserts a copy of `fragment` under fresh ids as one undoable edit and selects it. */
  paste: (fragment: Graph, offset?: { x: number; y: number }) => string[];
  duplicate: () => string[];
  undo: () => void;
  redo: () => void;
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
        return extractSubgraph({ nodes, edges }, selectedNodes);
      },

      paste: (fragment, offset = { x: 40, y: 40 }) => {
        if (!fragment.nodes.length) return [];
        record();
        const s = get();
        const { nodes, edges } = cloneSubgraph(
          fragment,
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
