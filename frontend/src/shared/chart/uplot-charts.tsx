// uPlot is only imported here, and this module only through `lazy` in index.tsx,
// so the library lands in its own chunk, fetched when a chart is first shown.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { tickLabel, timeTicks } from "./time-ticks";
import type { BarChartProps, SeriesChartProps, TimeChartProps } from "./types";

const AXIS = { stroke: "#64748b", grid: { stroke: "#f1f5f9" }, ticks: { stroke: "#e2e8f0" } };
const FACET_COLOR = 3; // uPlot.BarsPathBuilderFacetUnit.Color (a const enum)

function seconds(v: number) {
  return v >= 3600
    ? `${(v / 3600).toFixed(1)} h`
    : v >= 60
      ? `${(v / 60).toFixed(1)} min`
      : v >= 1
        ? `${v.toFixed(1)} s`
        : `${Math.round(v * 1000)} ms`;
}

/**
 * A y axis as wide as its longest label: a fixed width clipped "100 %" and
 * "10.5 min" on the left. Measured with the axis' own font.
 */
const fitSize: uPlot.Axis.Size = (u, values, axisIdx, cycleNum) => {
  const axis = u.axes[axisIdx]!;
  // Later layout passes keep the first pass' size, so the axis cannot oscillate.
  if (cycleNum > 1) return (axis as { _size?: number })._size ?? 48;
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), "");
  let size = (axis.ticks?.size ?? 10) + (axis.gap ?? 5) + 4;
  if (longest) {
    u.ctx.font = axis.font?.[0] ?? "12px system-ui";
    size += u.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size);
};

/** Creates the plot once, feeds it new data, and follows the container's width. */
function usePlot(make: (width: number) => uPlot.Options, data: uPlot.AlignedData, deps: unknown[]) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const box = el.current;
    if (!box) return;
    const opts = make(box.clientWidth || 300);
    // `data-drawn` tells a test or a benchmark that the chart shows its data.
    opts.hooks = {
      ...opts.hooks,
      draw: [...(opts.hooks?.draw ?? []), () => box.setAttribute("data-drawn", "")],
    };
    const u = new uPlot(opts, data, box);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      if (box.clientWidth && box.clientWidth !== u.width) {
        u.setSize({ width: box.clientWidth, height: u.height });
      }
    });
    ro.observe(box);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The plot is rebuilt only when its shape changes; data goes through setData.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  return el;
}

export function BarChart({ labels, values, colors, height = 160, label }: BarChartProps) {
  const data: uPlot.AlignedData = [labels.map((_, i) => i), values];
  const ref = usePlot(
    (width) => ({
      width,
      height,
      legend: { show: false },
      cursor: { points: { show: false } },
      scales: { x: { time: false, range: [-0.5, Math.max(labels.length - 0.5, 0.5)] } },
      axes: [
        {
          ...AXIS,
          splits: () => labels.map((_, i) => i),
          values: (_u, splits) => splits.map((i) => labels[i] ?? ""),
          rotate: labels.length > 8 ? -45 : 0,
          size: labels.length > 8 ? 60 : 30,
        },
        { ...AXIS, values: (_u, splits) => splits.map(seconds), size: fitSize },
      ],
      series: [
        {},
        {
          label,
          fill: "#6366f1",
          stroke: "#6366f1",
          paths: uPlot.paths.bars!({
            size: [0.6, 48],
            disp: {
              fill: {
                unit: FACET_COLOR as uPlot.Series.BarsPathBuilderFacetUnit,
                values: (_u, _s, i0, i1) => colors.slice(i0, i1 + 1),
              },
              stroke: {
                unit: FACET_COLOR as uPlot.Series.BarsPathBuilderFacetUnit,
                values: (_u, _s, i0, i1) => colors.slice(i0, i1 + 1),
              },
            },
          }),
          points: { show: false },
        },
      ],
    }),
    data,
    [labels.join("\u0000"), colors.join(","), height, label],
  );
  return (
    <>
      <div ref={ref} aria-hidden data-chart />
      {/* The canvas is not readable; the same numbers as a list for assistive technology. */}
      <ul className="sr-only" aria-label={label}>
        {labels.map((l, i) => (
          <li key={i}>
            {l}: {seconds(values[i] ?? 0)}
          </li>
        ))}
      </ul>
    </>
  );
}

export function TimeChart({ x, series, height = 140, label, range }: TimeChartProps) {
  const data: uPlot.AlignedData = [x, ...series.map((s) => s.values)];
  const ticks = range ? timeTicks(range[0], range[1]) : null;
  const ref = usePlot(
    (width) => ({
      width,
      height,
      legend: { show: false },
      axes: [
        ticks
          ? // The window's days (or hours), whatever the spread of the points.
            {
              ...AXIS,
              splits: () => ticks.at,
              values: (_u, splits) => splits.map((t) => tickLabel(t, ticks.unit)),
              size: 30,
            }
          : // Two lines of labels (time, then the date where it changes).
            { ...AXIS, size: 48 },
        { ...AXIS, values: (_u, splits) => splits.map(seconds), size: fitSize },
      ],
      scales: {
        ...(range ? { x: { time: true, range: () => range } } : {}),
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1,
          spanGaps: false,
          paths: () => null,
          points: { show: true, size: 7, fill: s.color, stroke: s.color },
          value: (_u: uPlot, v: number | null) => (v == null ? "—" : seconds(v)),
        })),
      ],
    }),
    data,
    [series.map((s) => s.label + s.color).join(","), height, label, range?.[0], range?.[1]],
  );
  const shown = series.filter((s) => s.values.some((v) => v != null));
  return (
    <div>
      <div ref={ref} role="img" aria-label={label} data-chart />
      {shown.length > 0 && (
        <p className="flex gap-3 text-[11px] text-slate-500">
          {shown.map((s) => (
            <span key={s.label} className="flex items-center gap-1">
              <span className="h-2 w-2 rounded-full" style={{ background: s.color }} />
              {s.label}
            </span>
          ))}
        </p>
      )}
    </div>
  );
}

/** Day labels lose their year on the axis (the table keeps it). */
const shortLabel = (l: string) => (/^\d{4}-\d{2}-\d{2}$/.test(l) ? l.slice(5) : l);

const plain = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

export function SeriesChart({
  labels,
  series,
  kind = "line",
  height = 180,
  format = plain,
  yMax,
  label,
}: SeriesChartProps) {
  const data: uPlot.AlignedData = [labels.map((_, i) => i), ...series.map((s) => s.values)];
  const ref = usePlot(
    (width) => ({
      width,
      height,
      legend: { show: false },
      scales: {
        x: { time: false, range: [-0.5, Math.max(labels.length - 0.5, 0.5)] },
        y: { range: (_u, _min, max) => [0, yMax ?? (max > 0 ? max * 1.1 : 1)] },
      },
      axes: [
        {
          ...AXIS,
          // At most ~12 labels, so day buckets of a quarter stay readable.
          splits: () => {
            const step = Math.max(1, Math.ceil(labels.length / 12));
            return labels.map((_, i) => i).filter((i) => i % step === 0);
          },
          values: (_u, splits) => splits.map((i) => shortLabel(labels[i] ?? "")),
          size: 30,
        },
        { ...AXIS, values: (_u, splits) => splits.map(format), size: fitSize },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: kind === "line" ? 2 : 1,
          dash: s.dash ? [6, 4] : undefined,
          fill: kind === "line" ? undefined : s.color,
          paths: kind === "bars" ? uPlot.paths.bars!({ size: [0.7, 40] }) : undefined,
          points: { show: kind === "line" && labels.length <= 40, size: 5, fill: s.color },
        })),
      ],
    }),
    data,
    [
      labels.join("\u0000"),
      series.map((s) => s.label + s.color).join(","),
      kind,
      height,
      label,
      yMax,
    ],
  );
  return (
    <div>
      <div ref={ref} role="img" aria-label={label} data-chart />
      <p className="flex flex-wrap gap-3 text-[11px] text-slate-600">
        {series.map((s) => (
          <span key={s.label} className="flex items-center gap-1">
            <span
              className="h-2 w-3 rounded-sm"
              style={{ background: s.color, opacity: s.dash ? 0.6 : 1 }}
            />
            {s.label}
          </span>
        ))}
      </p>
    </div>
  );
}
