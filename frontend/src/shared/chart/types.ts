export type BarChartProps = {
  /** One label per bar (x axis). */
  labels: string[];
  /** Bar heights in seconds. */
  values: number[];
  /** One CSS colour per bar. */
  colors: string[];
  height?: number;
  /** Accessible name of the chart. */
  label: string;
};

export type TimeChartProps = {
  /** Unix seconds, ascending. */
  x: number[];
  /** Values in seconds; null leaves a point out. */
  series: { label: string; color: string; values: (number | null)[] }[];
  height?: number;
  label: string;
  /**
   * The window shown (unix seconds, start and end): the x axis spans it and
   * is labelled with its days (hours for up to two days). Without it the
   * axis spans the points.
   */
  range?: [number, number];
};

export type SeriesChartProps = {
  /** One label per point (x axis), e.g. the first day of each bucket. */
  labels: string[];
  /**
   * Counts per label. `area` series are drawn filled from zero in order, so
   * pass them already stacked (largest last drawn first).
   */
  series: { label: string; color: string; values: (number | null)[]; dash?: boolean }[];
  kind?: "line" | "bars" | "area";
  height?: number;
  /** Formats a y value (default: a plain number). */
  format?: (v: number) => string;
  /** A fixed top of the y axis, e.g. 1 for rates; otherwise 10 % above the largest value. */
  yMax?: number;
  label: string;
};
