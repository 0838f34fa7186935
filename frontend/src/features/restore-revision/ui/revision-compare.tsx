import { useEffect, useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
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
import { CodeDiff } from "@/shared/code";
import { Button, Dialog, ErrorState, LoadingState } from "@/shared/ui";
import {
  compareGraphs,
  formatFieldValue,
  renderManifest,
  useRevision,
  type ChangeState,
  type Graph,
  type GraphComparison,
  type TemplateLookup,
} from "@/entities/workflow";

const NODE_STYLE: Record<ChangeState, string> = {
  added: "!border-2 !border-emerald-500 !bg-emerald-50 !text-emerald-950",
  removed: "!border-2 !border-dashed !border-rose-500 !bg-rose-50 !text-rose-900 opacity-80",
  changed: "!border-2 !border-amber-500 !bg-amber-50 !text-amber-950",
  same: "!border !border-slate-300 !bg-white !text-slate-700",
};

const EDGE_COLOR: Record<ChangeState, string> = {
  added: "#10b981",
  removed: "#f43f5e",
  changed: "#f59e0b",
  same: "#94a3b8",
};

const STATE_WORD: Record<ChangeState, string> = {
  added: "added",
  removed: "removed",
  changed: "changed",
  same: "",
};

export interface RevisionPair {
  /** The older revision. */
  a: number;
  b: number;
}

/**
 * Two revisions side by side: the newer graph on a read-only canvas with
 * what changed since the older one coloured, the field changes per node,
 * and the line diff of their manifests.
 */
export function RevisionCompare({
  workflowId,
  clientId,
  pair,
  lookup,
  onClose,
  onRestore,
}: {
  workflowId: number;
  clientId: number;
  pair: RevisionPair;
  lookup?: TemplateLookup;
  onClose: () => void;
  onRestore?: (graph: Graph, revision: number) => void;
}) {
  const a = useRevision(workflowId, pair.a);
  const b = useRevision(workflowId, pair.b);
  const ga = a.data?.graph as unknown as Graph | undefined;
  const gb = b.data?.graph as unknown as Graph | undefined;
  const diff = useMemo(() => (ga && gb ? compareGraphs(ga, gb) : null), [ga, gb]);
  const manifests = useQuery({
    queryKey: ["workflows", "revision-manifests", workflowId, pair.a, pair.b],
    enabled: !!(a.data && b.data),
    staleTime: Infinity,
    queryFn: () =>
      Promise.all(
        [a.data!, b.data!].map((r) =>
          renderManifest({
            workflowId,
            clientId,
            name: r.name,
            description: r.description,
            graph: r.graph as unknown as Graph,
          }),
        ),
      ),
  });
  const failed = a.error ?? b.error;
  return (
    <Dialog
      open
      full
      onOpenChange={(o) => !o && onClose()}
      title={`Compare revision ${pair.a} with revision ${pair.b}`}
      description={
        diff ? (
          <span data-testid="compare-summary">
            Revision {pair.b} against revision {pair.a}:{" "}
            <b className="text-emerald-700">{diff.counts.added} added</b>,{" "}
            <b className="text-amber-700">{diff.counts.changed} changed</b>,{" "}
            <b className="text-rose-700">{diff.counts.removed} removed</b> nodes
          </span>
        ) : undefined
      }
    >
      {failed ? (
        <ErrorState error={failed} />
      ) : !diff || !a.data || !b.data ? (
        <LoadingState label="Loading both revisions…" />
      ) : (
        <div className="flex flex-col gap-4" data-testid="revision-compare">
          <div className="flex items-center gap-2">
            {onRestore && (
              <>
                {[a.data, b.data].map((r) => (
                  <Button
                    key={r.revision}
                    size="sm"
                    data-testid={`compare-restore-${r.revision}`}
                    onClick={() => onRestore(r.graph as unknown as Graph, r.revision)}
                  >
                    Restore revision {r.revision}
                  </Button>
                ))}
                <span className="text-xs text-slate-500">
                  Restoring loads the revision into the editor; Save keeps it.
                </span>
              </>
            )}
            <span className="flex-1" />
            <Button size="sm" onClick={onClose}>
              Back to history
            </Button>
          </div>
          <div className="grid h-[46vh] min-h-72 grid-cols-1 gap-4 lg:grid-cols-[3fr_2fr]">
            <div className="overflow-hidden rounded-lg ring-1 ring-slate-200">
              <ReactFlowProvider>
                <DiffCanvas diff={diff} lookup={lookup} />
              </ReactFlowProvider>
            </div>
            <ChangeList diff={diff} />
          </div>
          <section aria-label="Manifest diff">
            <h3 className="mb-1 text-sm font-medium">
              Manifest r{pair.a} → r{pair.b}
            </h3>
            {manifests.isError ? (
              <ErrorState error={manifests.error} onRetry={() => manifests.refetch()} />
            ) : manifests.data ? (
              <CodeDiff before={manifests.data[0]!.yaml} after={manifests.data[1]!.yaml} />
            ) : (
              <LoadingState label="Rendering the manifests…" />
            )}
          </section>
        </div>
      )}
    </Dialog>
  );
}

function ChangeList({ diff }: { diff: GraphComparison }) {
  const touched = diff.nodes.filter((n) => n.state !== "same");
  const edges = diff.edges.filter((e) => e.state !== "same");
  return (
    <div
      className="overflow-auto rounded-lg p-3 text-sm ring-1 ring-slate-200"
      data-testid="compare-changes"
    >
      {touched.length === 0 && edges.length === 0 && (
        <p className="text-slate-500">The graphs do the same; at most nodes were moved.</p>
      )}
      <ul className="space-y-2">
        {touched.map((n) => (
          <li key={`${n.state}:${n.id}`} data-testid={`change-${n.id}`} data-state={n.state}>
            <div className="flex items-center gap-2">
              <code className="font-mono text-xs font-semibold">{n.id}</code>
              <span
                className={
                  "rounded px-1.5 text-[10px] font-semibold uppercase " +
                  (n.state === "added"
                    ? "bg-emerald-100 text-emerald-800"
                    : n.state === "removed"
                      ? "bg-rose-100 text-rose-800"
                      : "bg-amber-100 text-amber-800")
                }
              >
                {STATE_WORD[n.state]}
              </span>
              <span className="truncate text-xs text-slate-500">
                {n.node.template.name}@{n.node.template.version}
              </span>
            </div>
            {n.fields.length > 0 && (
              <ul className="mt-1 space-y-0.5 border-l-2 border-amber-300 pl-2 font-mono text-xs">
                {n.fields.map((f) => (
                  <li key={f.field} data-testid={`field-change-${n.id}-${f.field}`}>
                    <span className="text-slate-700">{f.field}</span>:{" "}
                    <span className="text-rose-700 line-through">{formatFieldValue(f.before)}</span>{" "}
                    → <span className="text-emerald-700">{formatFieldValue(f.after)}</span>
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ul>
      {edges.length > 0 && (
        <>
          <h4 className="mb-1 mt-3 text-xs font-semibold uppercase text-slate-500">Connections</h4>
          <ul className="space-y-0.5 font-mono text-xs">
            {edges.map((e) => (
              <li key={e.edge.id} data-state={e.state}>
                <span
                  className={
                    e.state === "added"
                      ? "text-emerald-700"
                      : e.state === "removed"
                        ? "text-rose-700"
                        : "text-amber-700"
                  }
                >
                  {STATE_WORD[e.state]}
                </span>{" "}
                {e.before && (
                  <span className="text-slate-400 line-through">
                    {e.before.source}.{e.before.sourcePort} → {e.before.target}.
                    {e.before.targetPort}{" "}
                  </span>
                )}
                {e.edge.source}.{e.edge.sourcePort} → {e.edge.target}.{e.edge.targetPort}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function DiffCanvas({ diff, lookup }: { diff: GraphComparison; lookup?: TemplateLookup }) {
  const nodes: Node[] = useMemo(
    () =>
      diff.nodes.map(({ node, state, id }) => {
        const title = node.label || lookup?.(node.template)?.title || node.template.name;
        return {
          // Node ids stay unique: a removed node's id is not in the newer graph.
          id,
          position: node.position,
          draggable: false,
          connectable: false,
          selectable: false,
          sourcePosition: Position.Right,
          targetPosition: Position.Left,
          className: `rounded-lg px-3 py-2 text-left text-xs ${NODE_STYLE[state]}`,
          style: { width: 200 },
          data: {
            label: (
              <div data-testid={`compare-node-${id}`} data-diff={state}>
                <div className="flex items-center justify-between gap-1">
                  <span className="truncate font-semibold">{title}</span>
                  {STATE_WORD[state] && (
                    <span className="rounded bg-white/70 px-1 text-[10px] uppercase">
                      {STATE_WORD[state]}
                    </span>
                  )}
                </div>
                <div className="truncate font-mono text-[10px] opacity-70">{id}</div>
              </div>
            ),
          },
        };
      }),
    [diff, lookup],
  );
  const edges: Edge[] = useMemo(
    () =>
      diff.edges.map(({ edge, state }) => {
        return {
          id: edge.id,
          source: edge.source,
          target: edge.target,
          label: `${edge.sourcePort} → ${edge.targetPort}`,
          labelStyle: { fontSize: 10 },
          markerEnd: { type: MarkerType.ArrowClosed, color: EDGE_COLOR[state] },
          style: {
            stroke: EDGE_COLOR[state],
            strokeWidth: state === "same" ? 1.5 : 2.5,
            strokeDasharray: state === "removed" ? "6 4" : undefined,
          },
        };
      }),
    [diff],
  );
  const { fitView } = useReactFlow();
  // Fit once the dialog has its size; React Flow's own fit can run before layout.
  useEffect(() => {
    const t = setTimeout(() => void fitView({ padding: 0.15, maxZoom: 1 }), 80);
    return () => clearTimeout(t);
  }, [fitView, nodes]);
  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      fitView
      fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
      minZoom={0.1}
      nodesDraggable={false}
      nodesConnectable={false}
      elementsSelectable={false}
      proOptions={{ hideAttribution: true }}
    >
      <Background gap={16} color="#e2e8f0" />
      <Controls showInteractive={false} />
    </ReactFlow>
  );
}
