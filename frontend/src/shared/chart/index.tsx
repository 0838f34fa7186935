import { Suspense, lazy } from "react";
import type { BarChartProps, SeriesChartProps, TimeChartProps } from "./types";

type Charts = typeof import("./uplot-charts");

// uPlot loads on first use only, so it never weighs on the login page or a
// page that shows no chart.
let loaded: Charts | null = null;
const charts = () =>
  import("./uplot-charts").then((m) => {
    loaded = m;
    return m;
  });

/**
 * Starts fetching the chart chunk without waiting for a chart to render: a
 * page that will draw charts once its data arrives calls this first, so
 * the chunk loads while the data is on its way instead of after it.
 */
export function preloadCharts() {
  void charts();
}

const LazyBar = lazy(() => charts().then((m) => ({ default: m.BarChart })));
const LazyTime = lazy(() => charts().then((m) => ({ default: m.TimeChart })));
const LazySeries = lazy(() => charts().then((m) => ({ default: m.SeriesChart })));

function Placeholder({ height }: { height: number }) {
  return (
    <div style={{ height }} className="animate-pulse rounded bg-slate-50" data-chart-placeholder />
  );
}

// Once the chunk is there, charts render directly: React holds a freshly
// resolved Suspense boundary back for up to 300 ms, which was a third of
// the dashboard's time to its first drawn chart (measured).

/** Small bar chart of durations (seconds). */
export function BarChart(props: BarChartProps) {
  if (loaded) return <loaded.BarChart {...props} />;
  return (
    <Suspense fallback={<Placeholder height={props.height ?? 160} />}>
      <LazyBar {...props} />
    </Suspense>
  );
}

/** Small scatter chart of durations (seconds) over time. */
export function TimeChart(props: TimeChartProps) {
  if (loaded) return <loaded.TimeChart {...props} />;
  return (
    <Suspense fallback={<Placeholder height={props.height ?? 140} />}>
      <LazyTime {...props} />
    </Suspense>
  );
}

/** Counts per category (bucket) for one or more series: lines, bars or areas. */
export function SeriesChart(props: SeriesChartProps) {
  if (loaded) return <loaded.SeriesChart {...props} />;
  return (
    <Suspense fallback={<Placeholder height={props.height ?? 180} />}>
      <LazySeries {...props} />
    </Suspense>
  );
}

export type { BarChartProps, SeriesChartProps, TimeChartProps };
