import { useEffect, useMemo } from "react";
import {
  Background,
  Controls,
  MarkerType,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Edge,
  type Node,
} from "@xyflow/react";
import { Button } from "@/shared/ui";
import type { Graph, TemplateLookup } from "@/entities/workflow";
import { diffGraphs, type DiffState } from "../model/diff";
import type { Proposal } from "../model/api";

const NODE_STYLE: Record<DiffState, string> = {
  added: "!border-2 !border-emerald-500 !bg-emerald-50 !text-emerald-950 shadow-md",
  changed: "!border-2 !border-amber-500 !bg-amber-50 !text-amber-950",
  removed: "!border-2 !border-dashed !border-slate-400 !bg-slate-50 !text-slate-400 opacity-50",
  same: "!border !border-slate-300 !bg-white !text-slate-700",
};

const EDGE_COLOR = { added: "#10b981", removed: "#94a3b8", same: "#64748b" } as const;

const BADGE: Record<DiffState, string> = {
  added: "new",
  changed: "changed",
  removed: "removed",
  same: "",
};

/**
 * The proposal over the canvas, read-only: new nodes and edges highlighted,
 * changed nodes outlined, removed ones ghosted at their old place. Accept
 * replaces the draft (one undo step); Discard leaves it untouched.
 */
export function ProposalDiff(props: {
  current: Graph;
  proposal: Proposal;
  lookup: TemplateLookup;
  onAccept: () => void;
  onDiscard: () => void;
}) {
  return (
    <ReactFlowProvider>
      <DiffCanvas {...props} />
    </ReactFlowProvider>
  );
}

function DiffCanvas({
  current,
  proposal,
  lookup,
  onAccept,
  onDiscard,
}: {
  current: Graph;
  proposal: Proposal;
  lookup: TemplateLookup;
  onAccept: () => void;
  onDiscard: () => void;
}) {
  const diff = useMemo(() => diffGraphs(current, proposal.graph), [current, proposal]);
  const nodes: Node[] = useMemo(
    () =>
      diff.nodes.map(({ node, state }) => {
        const t = lookup(node.template);
        const title = node.label || t?.title || node.template.name;
        return {
          id: node.id,
          position: node.position,
          draggable: false,
          connectable: false,
          // Data flows left to right, as on the editor's canvas.
          sourcePosition: Position.Right,
          targetPosition: Position.Left,
          selectable: false,
          className: `rounded-lg px-3 py-2 text-left text-xs ${NODE_STYLE[state]}`,
          style: { width: 200 },
          data: {
            label: (
              <div data-testid={`ai-node-${node.id}`} data-diff={state}>
                <div className="flex items-center justify-between gap-1">
                  <span className="truncate font-semibold">{title}</span>
                  {BADGE[state] && (
                    <span className="rounded bg-white/70 px-1 text-[10px] uppercase">
                      {BADGE[state]}
                    </span>
                  )}
                </div>
                <div className="truncate font-mono text-[10px] opacity-70">
                  {node.template.name}@{node.template.version}
                </div>
              </div>
            ),
          },
        };
      }),
    [diff, lookup],
  );
  const edges: Edge[] = useMemo(
    () =>
      diff.edges.map(({ edge, state }) => ({
        id: edge.id,
        source: edge.source,
        target: edge.target,
        label: `${edge.sourcePort} → ${edge.targetPort}`,
        labelStyle: { fontSize: 10 },
        animated: state === "added",
        markerEnd: { type: MarkerType.ArrowClosed, color: EDGE_COLOR[state] },
        style: {
          stroke: EDGE_COLOR[state],
          strokeWidth: state === "added" ? 3 : 2,
          strokeDasharray: state === "removed" ? "6 4" : undefined,
        },
      })),
    [diff],
  );
  const { added, changed, removed } = diff.counts;
  // Fit once the overlay has its size (React Flow's own `fitView` can run
  // before the absolutely positioned container is laid out).
  const { fitView } = useReactFlow();
  useEffect(() => {
    const t = setTimeout(() => void fitView({ padding: 0.15, maxZoom: 1 }), 60);
    return () => clearTimeout(t);
  }, [fitView, nodes]);
  return (
    <div
      data-testid="ai-proposal"
      className="absolute inset-0 z-20 flex flex-col bg-white/95 backdrop-blur-sm"
    >
      <div className="flex items-center gap-3 border-b border-violet-200 bg-violet-50 px-3 py-2 text-sm">
        <span className="rounded bg-violet-700 px-1.5 py-0.5 text-[10px] font-semibold uppercase tracking-wide text-white">
          AI-generated
        </span>
        <span className="text-slate-700">
          Proposal: <b className="text-emerald-700">{added} new</b>,{" "}
          <b className="text-amber-700">{changed} changed</b>,{" "}
          <b className="text-slate-600">{removed} removed</b> · validated
          {proposal.rounds > 1 ? ` after ${proposal.rounds - 1} repair round(s)` : ""}
          {proposal.warnings > 0 ? ` · ${proposal.warnings} warning(s)` : ""}
        </span>
        <span className="flex-1" />
        <Button size="sm" variant="secondary" onClick={onDiscard}>
          Discard
        </Button>
        <Button size="sm" variant="primary" onClick={onAccept}>
          Accept into draft
        </Button>
      </div>
      <div className="min-h-0 flex-1">
        <ReactFlow
          nodes={nodes}
          edges={edges}
          fitView
          fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
          minZoom={0.2}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          proOptions={{ hideAttribution: true }}
        >
          <Background gap={16} color="#ede9fe" />
          <Controls showInteractive={false} />
        </ReactFlow>
      </div>
    </div>
  );
}
