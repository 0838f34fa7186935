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
};
