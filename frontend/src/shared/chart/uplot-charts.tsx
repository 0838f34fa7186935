// uPlot is only imported here, and this module only through `lazy` in index.tsx,
// so the library lands in its own chunk, fetched when a chart is first shown.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
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

/** Creates the plot once, feeds it new data, and follows the container's width. */
function usePlot(make: (width: number) => uPlot.Options, data: uPlot.AlignedData, deps: unknown[]) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const box = el.current;
    if (!box) return;
    const u = new uPlot(make(box.clientWidth || 300), data, box);
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
        { ...AXIS, values: (_u, splits) => splits.map(seconds), size: 64 },
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
      <div ref={ref} aria-hidden />
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

export function TimeChart({ x, series, height = 140, label }: TimeChartProps) {
  const data: uPlot.AlignedData = [x, ...series.map((s) => s.values)];
  const ref = usePlot(
    (width) => ({
      width,
      height,
      legend: { show: false },
      axes: [
        // Two lines of labels (time, then the date where it changes).
        { ...AXIS, size: 48 },
        { ...AXIS, values: (_u, splits) => splits.map(seconds), size: 64 },
      ],
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
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
    [series.map((s) => s.label + s.color).join(","), height, label],
  );
  const shown = series.filter((s) => s.values.some((v) => v != null));
  return (
    <div>
      <div ref={ref} role="img" aria-label={label} />
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
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
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
        { ...AXIS, values: (_u, splits) => splits.map(format), size: 48 },
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
    [labels.join("\u0000"), series.map((s) => s.label + s.color).join(","), kind, height, label],
  );
  return (
    <div>
      <div ref={ref} role="img" aria-label={label} />
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
