import { memo } from "react";
import {
  Handle,
  Position,
  useStore,
  type Node,
  type NodeHandle,
  type NodeProps,
} from "@xyflow/react";
import { cn } from "@/shared/lib";
import { PORT_COLORS } from "@/entities/template";
import type { GraphNode, Problem, TemplateInfo } from "@/entities/workflow";
import { STATUS_COLORS, UNKNOWN_STATUS_COLOR, type LiveNode } from "@/entities/run";
import { formatDuration } from "@/shared/lib";
import { FlowGlyph } from "./flow-glyph";

export interface TaskNodeData extends Record<string, unknown> {
  node: GraphNode;
  template: TemplateInfo | undefined;
  problems: Problem[];
  /** Set while a run is shown on the canvas. */
  run?: LiveNode;
}

/** Editor node kinds form a discriminated union on `type`. */
export type EditorNode = Node<TaskNodeData, "task">;

const ROW = 22;
/** Card geometry (CSS pixels at zoom 1); `cardHandles` and the markup below must agree. */
export const CARD_WIDTH = 224;
/** Outer border (1) + header (29): where the port rows start. */
const BODY_TOP = 30;
const HANDLE = 12;

/** The card's height: borders, header, one row per port (plus padding), footer. */
export function cardHeight(t: TemplateInfo | undefined): number {
  const rows = Math.max(t?.inputs.length ?? 0, t?.outputs.length ?? 0, 1);
  return BODY_TOP + rows * ROW + 8 + 21 + 1;
}

/**
 * Where the card's handles are, relative to the node, as React Flow would
 * measure them. Given to nodes that were never rendered, so React Flow does
 * not have to render every node of a large graph once just to measure it;
 * a rendered node is measured from the DOM as usual.
 */
export function cardHandles(t: TemplateInfo | undefined): NodeHandle[] {
  const at = (i: number) => BODY_TOP + 4 + i * ROW + ROW / 2 - HANDLE / 2;
  return [
    ...(t?.inputs ?? []).map((p, i) => ({
      id: `in:${p.name}`,
      type: "target" as const,
      position: Position.Left,
      x: -1,
      y: at(i),
      width: HANDLE,
      height: HANDLE,
    })),
    ...(t?.outputs ?? []).map((p, i) => ({
      id: `out:${p.name}`,
      type: "source" as const,
      position: Position.Right,
      x: CARD_WIDTH - 11,
      y: at(i),
      width: HANDLE,
      height: HANDLE,
    })),
  ];
}
/** Below this zoom, text is unreadable anyway: nodes drop labels and footer (cheaper to draw). */
const COMPACT_ZOOM = 0.4;
const isCompact = (s: { transform: [number, number, number] }) => s.transform[2] < COMPACT_ZOOM;

/** A workflow node: title, typed input handles on the left, outputs on the right, status badge. */
export const TaskNode = memo(function TaskNode({ data, selected }: NodeProps<EditorNode>) {
  const { node, template, problems, run } = data;
  const compact = useStore(isCompact);
  const errors = problems.filter((p) => p.severity === "error");
  const badPorts = new Set(errors.map((p) => p.port).filter(Boolean));
  const inputs = template?.inputs ?? [];
  const outputs = template?.outputs ?? [];
  const rows = Math.max(inputs.length, outputs.length, 1);
  return (
    <div
      className={cn(
        "w-56 rounded-lg border bg-white shadow-sm transition-shadow",
        selected ? "border-indigo-500 shadow-md ring-2 ring-indigo-200" : "border-slate-300",
        errors.length > 0 && !selected && "border-rose-400",
      )}
      data-testid={`node-${node.id}`}
      data-problems={errors.length}
      data-run-status={run?.status}
      style={
        run
          ? {
              borderColor: STATUS_COLORS[run.status],
              boxShadow: `0 0 0 2px ${STATUS_COLORS[run.status]}33`,
            }
          : undefined
      }
    >
      <div className="flex items-center gap-2 rounded-t-lg border-b border-slate-100 bg-slate-50 px-2.5 py-1.5">
        {template?.builtin && <FlowGlyph kind={template.builtin} />}
        <span
          className="min-w-0 flex-1 truncate text-xs font-semibold text-slate-800"
          title={node.label || template?.title}
        >
          {node.label || template?.title || node.template.name}
        </span>
        {run ? (
          <span
            className="rounded-full px-1.5 text-[10px] font-semibold text-white"
            style={{ background: STATUS_COLORS[run.status] ?? UNKNOWN_STATUS_COLOR }}
            data-testid="node-run-status"
          >
            {run.status}
            {run.startedAt && run.finishedAt
              ? ` · ${formatDuration(run.finishedAt - run.startedAt)}`
              : ""}
          </span>
        ) : errors.length > 0 ? (
          <span
            className="rounded-full bg-rose-100 px-1.5 text-[10px] font-semibold text-rose-700"
            title={errors.map((p) => p.message).join("\n")}
            data-testid="node-problem-badge"
          >
            {errors.length} {errors.length === 1 ? "problem" : "problems"}
          </span>
        ) : (
          <span className="rounded-full bg-emerald-50 px-1.5 text-[10px] font-medium text-emerald-700">
            ready
          </span>
        )}
      </div>
      <div
        className="relative px-2.5 py-1 text-[11px] text-slate-600"
        style={{ height: rows * ROW + 8 }}
      >
        {inputs.map((p, i) => (
          <div
            key={`in-${p.name}`}
            className="absolute left-2.5 flex items-center"
            style={{ top: 4 + i * ROW, height: ROW }}
          >
            <Handle
              type="target"
              id={`in:${p.name}`}
              position={Position.Left}
              className={cn(
                "!h-3 !w-3 !border-2 !border-white",
                badPorts.has(p.name) && "!ring-2 !ring-rose-400",
              )}
              style={{ background: PORT_COLORS[p.type], top: ROW / 2, left: -6 }}
              title={`${p.name}: ${p.type}${p.required ? " (required)" : ""}`}
              data-port-type={p.type}
            />
            {!compact && (
              <span className={cn(badPorts.has(p.name) && "font-medium text-rose-600")}>
                {p.name}
                {p.required && <span className="text-rose-500">*</span>}
              </span>
            )}
          </div>
        ))}
        {outputs.map((p, i) => (
          <div
            key={`out-${p.name}`}
            className="absolute right-2.5 flex items-center"
            style={{ top: 4 + i * ROW, height: ROW }}
          >
            {!compact && <span>{p.name}</span>}
            <Handle
              type="source"
              id={`out:${p.name}`}
              position={Position.Right}
              className="!h-3 !w-3 !border-2 !border-white"
              style={{ background: PORT_COLORS[p.type], top: ROW / 2, right: -6 }}
              title={`${p.name}: ${p.type}`}
              data-port-type={p.type}
            />
          </div>
        ))}
      </div>
      {run?.status === "running" && (
        <div className="mx-2.5 mb-1 h-1 rounded bg-slate-100">
          <div
            className="h-1 rounded bg-sky-500 transition-all"
            style={{ width: `${Math.round((run.progress ?? 0.05) * 100)}%` }}
          />
        </div>
      )}
      <div
        className={cn(
          "flex items-center justify-between rounded-b-lg px-2.5 pb-1.5 text-[10px] text-slate-500",
          compact && "invisible",
        )}
      >
        <span className="truncate font-mono">{node.id}</span>
        <span>
          {node.template.name} v{node.template.version}
        </span>
      </div>
    </div>
  );
});

/** Module-scope map so React Flow never sees a new object. */
export const nodeTypes = { task: TaskNode };
