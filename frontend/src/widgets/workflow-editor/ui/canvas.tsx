import {
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
  type DragEvent,
  type RefObject,
} from "react";
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useConnection,
  useReactFlow,
  useStoreApi,
  useViewport,
  type Connection,
  type ConnectionInProgress,
  type Edge,
  type EdgeChange,
  type IsValidConnection,
  type NodeChange,
  type NodeHandle,
  type OnConnectEnd,
  type OnMove,
  type Viewport,
} from "@xyflow/react";
import { PORT_COLORS, type PortType } from "@/entities/template";
import {
  checkConnection,
  type GraphNode,
  type Problem,
  type TemplateInfo,
} from "@/entities/workflow";
import type { LiveNode } from "@/entities/run";
import { useEditor, useEditorContext } from "../model/context";
import { boxesInView, pinnedBottomRight } from "../model/viewport";
import { DRAG_MIME } from "./palette";
import { CARD_WIDTH, cardHandles, cardHeight, nodeTypes, type EditorNode } from "./node-card";

const NO_PROBLEMS: Problem[] = [];
const FIT_OPTIONS = { maxZoom: 1, padding: 0.2 };

function portOf(handle: string | null | undefined): string {
  return (handle ?? "").replace(/^(in|out):/, "");
}

/** Computed card sizes and handles per template (the same for every node of it). */
const sizes = new WeakMap<TemplateInfo, { width: number; height: number }>();
function sizeOf(t: TemplateInfo | undefined) {
  if (!t) return { width: CARD_WIDTH, height: cardHeight(t) };
  let s = sizes.get(t);
  if (!s) sizes.set(t, (s = { width: CARD_WIDTH, height: cardHeight(t) }));
  return s;
}

const handlesOf = new WeakMap<TemplateInfo, NodeHandle[]>();
function handlesFor(t: TemplateInfo | undefined): NodeHandle[] {
  if (!t) return [];
  let h = handlesOf.get(t);
  if (!h) handlesOf.set(t, (h = cardHandles(t)));
  return h;
}

interface CacheEntry {
  src: GraphNode;
  selected: boolean;
  template: TemplateInfo | undefined;
  problems: Problem[];
  measured: { width: number; height: number } | undefined;
  run: LiveNode | undefined;
  rf: EditorNode;
}

/** The React Flow canvas, controlled by the editor store. */
export function Canvas({
  problems,
  onRefused,
  runNodes,
  readOnly = false,
}: {
  problems: Problem[];
  onRefused: (reason: string) => void;
  runNodes?: Record<string, LiveNode> | null;
  /** Cluster-managed workflows: nodes can be selected and inspected, not moved or wired. */
  readOnly?: boolean;
}) {
  const { store, lookup } = useEditorContext();
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const selectedEdges = useEditor((s) => s.selectedEdges);
  const { screenToFlowPosition } = useReactFlow();
  const measured = useRef(new Map<string, { width: number; height: number }>());
  const [measuredTick, setMeasuredTick] = useState(0);
  const cache = useRef(new Map<string, CacheEntry>());
  const lastNodes = useRef<EditorNode[] | null>(null);

  const problemsByNode = useMemo(() => {
    const m = new Map<string, Problem[]>();
    for (const p of problems) {
      for (const id of p.nodeId ? [p.nodeId] : (p.nodes ?? []))
        m.set(id, [...(m.get(id) ?? []), p]);
    }
    return m;
  }, [problems]);
  // Keyed by content so a re-validation with the same result does not rebuild every edge.
  const badEdgesKey = problems
    .filter((p) => p.edgeId && p.severity === "error")
    .map((p) => p.edgeId!)
    .sort()
    .join("\u0000");
  const badEdges = useMemo(
    () => new Set(badEdgesKey ? badEdgesKey.split("\u0000") : []),
    [badEdgesKey],
  );

  // Reuse node objects whose inputs did not change, so dragging one node re-renders only that node.
  const rfNodes = useMemo(() => {
    void measuredTick;
    const next = new Map<string, CacheEntry>();
    const out = nodes.map((n) => {
      const selected = selectedNodes.has(n.id);
      const template = lookup(n.template);
      const old = cache.current.get(n.id);
      let nodeProblems = problemsByNode.get(n.id) ?? NO_PROBLEMS;
      if (old && JSON.stringify(old.problems) === JSON.stringify(nodeProblems))
        nodeProblems = old.problems;
      const m = measured.current.get(n.id);
      const run = runNodes?.[n.id];
      if (
        old?.run === run &&
        old &&
        old.src === n &&
        old.selected === selected &&
        old.template === template &&
        old.problems === nodeProblems &&
        old.measured === m
      ) {
        next.set(n.id, old);
        return old.rf;
      }
      const rf: EditorNode = {
        id: n.id,
        type: "task",
        position: n.position,
        selected,
        data: { node: n, template, problems: nodeProblems, run },
        initialWidth: CARD_WIDTH,
        initialHeight: cardHeight(template),
        // A node React Flow measured keeps its measured size and handle bounds.
        // The others get the card's computed size and handles, so nodes off
        // screen are never rendered just to be measured and "Fit" still sees
        // every node; a rendered card whose size differs is re-measured.
        ...(m ? { measured: m } : { measured: sizeOf(template), handles: handlesFor(template) }),
      };
      next.set(n.id, { src: n, selected, template, problems: nodeProblems, measured: m, run, rf });
      return rf;
    });
    // Nothing changed (e.g. a re-validation with the same result): keep the array so React Flow skips its work.
    const prev = lastNodes.current;
    if (prev && prev.length === out.length && out.every((n, i) => n === prev[i])) {
      cache.current = next;
      return prev;
    }
    cache.current = next;
    lastNodes.current = out;
    return out;
  }, [nodes, selectedNodes, lookup, problemsByNode, measuredTick, runNodes]);

  // Output port types per node: changes with the node set, not with positions,
  // so dragging does not rebuild every edge.
  const templatesKey = nodes
    .map((n) => `${n.id}:${n.template.name}@${n.template.version}`)
    .join("|");
  const outputTypes = useMemo(() => {
    const m = new Map<string, Map<string, PortType>>();
    for (const n of store.getState().nodes) {
      m.set(n.id, new Map((lookup(n.template)?.outputs ?? []).map((p) => [p.name, p.type])));
    }
    return m;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [templatesKey, lookup, store]);

  const rfEdges: Edge[] = useMemo(
    () =>
      edges.map((e) => {
        const type = outputTypes.get(e.source)?.get(e.sourcePort);
        const bad = badEdges.has(e.id);
        const selected = selectedEdges.has(e.id);
        return {
          id: e.id,
          source: e.source,
          sourceHandle: `out:${e.sourcePort}`,
          target: e.target,
          targetHandle: `in:${e.targetPort}`,
          selected,
          style: {
            stroke: bad ? "#e11d48" : type ? PORT_COLORS[type] : "#94a3b8",
            strokeWidth: selected ? 3 : 2,
          },
          className: bad ? "edge-invalid" : undefined,
        };
      }),
    [edges, outputTypes, selectedEdges, badEdges],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<EditorNode>[]) => {
      const moves: { id: string; position: { x: number; y: number } }[] = [];
      let sel: Set<string> | null = null;
      let dims = false;
      for (const c of changes) {
        if (c.type === "position" && c.position) moves.push({ id: c.id, position: c.position });
        else if (c.type === "select") {
          sel ??= new Set(store.getState().selectedNodes);
          if (c.selected) sel.add(c.id);
          else sel.delete(c.id);
        } else if (c.type === "dimensions" && c.dimensions) {
          measured.current.set(c.id, c.dimensions);
          dims = true;
        }
      }
      if (moves.length) store.getState().moveNodes(moves);
      if (sel) store.setState({ selectedNodes: sel });
      if (dims) setMeasuredTick((t) => t + 1);
    },
    [store],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      let sel: Set<string> | null = null;
      for (const c of changes) {
        if (c.type === "select") {
          sel ??= new Set(store.getState().selectedEdges);
          if (c.selected) sel.add(c.id);
          else sel.delete(c.id);
        }
      }
      if (sel) store.setState({ selectedEdges: sel });
    },
    [store],
  );

  const attempt = useCallback(
    (c: Connection | Edge) => ({
      source: c.source,
      sourcePort: portOf(c.sourceHandle),
      target: c.target,
      targetPort: portOf(c.targetHandle),
    }),
    [],
  );

  const isValidConnection: IsValidConnection = useCallback(
    (c) => {
      const s = store.getState();
      return checkConnection(s, lookup, attempt(c)).ok;
    },
    [store, lookup, attempt],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      const s = store.getState();
      const a = attempt(c);
      const verdict = checkConnection(s, lookup, a);
      if (!verdict.ok) return onRefused(verdict.reason);
      s.connect(a);
    },
    [store, lookup, attempt, onRefused],
  );

  const onConnectEnd: OnConnectEnd = useCallback(
    (_e, state) => {
      if (state.isValid !== false || !state.fromHandle || !state.toHandle) return;
      const from = state.fromHandle.type === "source" ? state.fromHandle : state.toHandle;
      const to = state.fromHandle.type === "source" ? state.toHandle : state.fromHandle;
      const verdict = checkConnection(store.getState(), lookup, {
        source: from.nodeId,
        sourcePort: portOf(from.id),
        target: to.nodeId,
        targetPort: portOf(to.id),
      });
      if (!verdict.ok) onRefused(verdict.reason);
    },
    [store, lookup, onRefused],
  );

  const onDrop = useCallback(
    (e: DragEvent) => {
      const raw = e.dataTransfer.getData(DRAG_MIME);
      if (!raw) return;
      e.preventDefault();
      const ref = JSON.parse(raw) as { name: string; version: number };
      const pos = screenToFlowPosition({ x: e.clientX, y: e.clientY });
      store.getState().addNode(ref, { x: Math.round(pos.x - 112), y: Math.round(pos.y - 20) });
    },
    [store, screenToFlowPosition],
  );

  // Large graphs open at their top-left corner at a readable zoom (one render
  // pass, no fit); the minimap shows the rest and "Fit" shows everything.
  const [initialView] = useState(() => {
    if (nodes.length <= 100) return null;
    const minX = Math.min(...nodes.map((n) => n.position.x));
    const minY = Math.min(...nodes.map((n) => n.position.y));
    const zoom = 0.75;
    return { x: 40 - minX * zoom, y: 40 - minY * zoom, zoom };
  });

  const wrapper = useRef<HTMLDivElement>(null);
  const [large] = useState(() => nodes.length > 100);
  const userMoved = useKeepFitted(wrapper, !large);
  // Programmatic moves (fit, focus) come without an event, and a click on
  // the pane starts a "move" that goes nowhere: only a real pan or zoom by
  // hand counts.
  const moveStart = useRef<Viewport | null>(null);
  const onMoveStart: OnMove = useCallback((e, vp) => {
    moveStart.current = e ? vp : null;
  }, []);
  const onMoveEnd: OnMove = useCallback(
    (e, vp) => {
      const start = moveStart.current;
      moveStart.current = null;
      if (e && start && (start.x !== vp.x || start.y !== vp.y || start.zoom !== vp.zoom))
        userMoved.current = true;
    },
    [userMoved],
  );

  return (
    <div
      ref={wrapper}
      className="relative min-h-0 flex-1"
      onDrop={onDrop}
      onDragOver={(e) => e.preventDefault()}
      data-testid="canvas"
    >
      <ReactFlow<EditorNode>
        nodes={rfNodes}
        edges={rfEdges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        onNodeDragStart={() => store.getState().beginMove()}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        edgesReconnectable={!readOnly}
        onPaneClick={() => store.getState().select([])}
        onMoveStart={onMoveStart}
        onMoveEnd={onMoveEnd}
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={["Meta", "Control"]}
        selectionOnDrag={false}
        fitView={!initialView}
        fitViewOptions={FIT_OPTIONS}
        defaultViewport={initialView ?? undefined}
        minZoom={0.05}
        maxZoom={2}
        onlyRenderVisibleElements
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={16} size={1} color="#e2e8f0" />
        <MiniMap pannable zoomable className="!bg-white" nodeColor={minimapColor} />
        <Controls showInteractive={false} />
        <ConnectionHint />
      </ReactFlow>
    </div>
  );
}

/**
 * The graph opens fitted (React Flow's `fitView`). When the canvas then
 * shrinks (the run panel opening below it) so that a graph that was wholly
 * in view no longer is, it is fitted again, unless the person has panned or
 * zoomed by hand since. Returns the flag the canvas sets on such a move.
 */
function useKeepFitted(wrapper: RefObject<HTMLDivElement | null>, enabled: boolean) {
  const { fitView, getNodes, getViewport } = useReactFlow<EditorNode>();
  const userMoved = useRef(false);
  useEffect(() => {
    const el = wrapper.current;
    if (!enabled || !el) return;
    let last = { w: el.clientWidth, h: el.clientHeight };
    const observer = new ResizeObserver(() => {
      const now = { w: el.clientWidth, h: el.clientHeight };
      if (now.w === last.w && now.h === last.h) return;
      const before = last;
      last = now;
      if (userMoved.current || now.w === 0 || now.h === 0) return;
      const boxes = getNodes().map((n) => ({
        ...n.position,
        width: n.measured?.width ?? CARD_WIDTH,
        height: n.measured?.height ?? 90,
      }));
      const view = getViewport();
      const minimap = minimapCorner(el);
      const inView = (w: number, h: number) =>
        boxesInView(boxes, view, w, h, minimap ? [pinnedBottomRight(minimap, w, h)] : []);
      if (boxes.length > 0 && inView(before.w, before.h) && !inView(now.w, now.h))
        void fitView(FIT_OPTIONS);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [wrapper, enabled, fitView, getNodes, getViewport]);
  return userMoved;
}

/** The minimap's size and distance from the canvas's bottom-right corner. */
function minimapCorner(canvas: Element | null) {
  const mm = canvas?.querySelector(".react-flow__minimap")?.getBoundingClientRect();
  if (!canvas || !mm) return null;
  const box = canvas.getBoundingClientRect();
  return {
    right: box.right - mm.left,
    bottom: box.bottom - mm.top,
    width: mm.width,
    height: mm.height,
  };
}

/** Module scope, so the minimap's 500 node rects are not re-rendered by a new function. */
function minimapColor(n: { data: unknown }) {
  return (n.data as { problems?: Problem[] }).problems?.length ? "#fda4af" : "#c7d2fe";
}

/** While a connection is dragged over an input it may not use, says why next to the pointer. */
function ConnectionHint() {
  const connection = useConnection();
  if (!connection.inProgress || !connection.toHandle || connection.isValid !== false) return null;
  return <Refusal connection={connection} />;
}

/** The refusal tooltip; the only part that follows the viewport, so panning re-renders nothing else. */
function Refusal({ connection }: { connection: ConnectionInProgress }) {
  const { store, lookup } = useEditorContext();
  const viewport = useViewport();
  if (!connection.toHandle) return null;
  const from =
    connection.fromHandle.type === "source" ? connection.fromHandle : connection.toHandle;
  const to = connection.fromHandle.type === "source" ? connection.toHandle : connection.fromHandle;
  const verdict = checkConnection(store.getState(), lookup, {
    source: from.nodeId,
    sourcePort: portOf(from.id),
    target: to.nodeId,
    targetPort: portOf(to.id),
  });
  if (verdict.ok) return null;
  return (
    <div
      role="tooltip"
      data-testid="connection-refusal"
      className="pointer-events-none absolute z-10 max-w-64 rounded-md bg-slate-900 px-2 py-1 text-xs text-white shadow-lg"
      style={{
        left: connection.to.x * viewport.zoom + viewport.x + 14,
        top: connection.to.y * viewport.zoom + viewport.y + 14,
      }}
    >
      {verdict.reason}
    </div>
  );
}

/**
 * Keeps React Flow's view in step with a selection made outside the canvas
 * (problems panel, run node list): a node already wholly on screen stays
 * where it is, so picking it does not throw the rest of the graph out of view.
 */
export function useFocusNode() {
  const { getNode, setCenter, getViewport } = useReactFlow();
  const rf = useStoreApi();
  return useCallback(
    (id: string) => {
      const n = getNode(id);
      if (!n) return;
      const w = n.measured?.width ?? 224;
      const h = n.measured?.height ?? 80;
      const viewport = getViewport();
      const { width, height, domNode } = rf.getState();
      const minimap = minimapCorner(domNode);
      const covered = minimap ? [pinnedBottomRight(minimap, width, height)] : [];
      if (boxesInView([{ ...n.position, width: w, height: h }], viewport, width, height, covered))
        return;
      setCenter(n.position.x + w / 2, n.position.y + h / 2, {
        zoom: Math.max(viewport.zoom, 0.8),
        duration: 250,
      });
    },
    [getNode, setCenter, getViewport, rf],
  );
}

export function useMeasuredSize() {
  const { getNode } = useReactFlow();
  return useCallback(
    (id: string) => {
      const n = getNode(id);
      return { width: n?.measured?.width ?? 224, height: n?.measured?.height ?? 90 };
    },
    [getNode],
  );
}
