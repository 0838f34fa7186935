import { memo, useMemo } from "react";
import { pluralize } from "@/shared/lib";
import { kindColors, linePath, previewLayout, previewViewBox } from "../model/preview";

/**
 * A small read-only picture of a graph: boxes where the editor placed the
 * nodes, curves for the connections. Plain SVG, so a page of cards costs no
 * canvas instances.
 */
export const GraphPreview = memo(function GraphPreview({
  graph,
  className,
}: {
  graph: unknown;
  className?: string;
}) {
  const layout = useMemo(() => previewLayout(graph), [graph]);
  const label = `Graph preview: ${pluralize(layout.boxes.length, "node")}, ${pluralize(
    layout.lines.length,
    "connection",
  )}`;
  if (layout.boxes.length === 0)
    return (
      <div
        className={`grid place-items-center text-xs text-slate-500 ${className ?? ""}`}
        role="img"
        aria-label={label}
      >
        Empty graph
      </div>
    );
  return (
    <svg
      viewBox={previewViewBox(layout)}
      preserveAspectRatio="xMidYMid meet"
      className={className}
      role="img"
      aria-label={label}
      data-testid="graph-preview"
    >
      {layout.lines.map((l) => (
        <path
          key={l.id}
          d={linePath(l)}
          fill="none"
          stroke="#94a3b8"
          strokeWidth={1.5}
          vectorEffect="non-scaling-stroke"
        />
      ))}
      {layout.boxes.map((b) => {
        const { fill, stroke } = kindColors(b.kind);
        return (
          <rect
            key={b.id}
            x={b.x}
            y={b.y}
            width={b.width}
            height={b.height}
            rx={12}
            fill={fill}
            stroke={stroke}
            strokeWidth={1.5}
            vectorEffect="non-scaling-stroke"
            data-kind={b.kind}
          />
        );
      })}
    </svg>
  );
});
