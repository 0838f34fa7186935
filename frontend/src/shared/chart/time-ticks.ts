// Tick positions and labels for a time axis over a known window (a
// dashboard's date range), so the labels follow the window and not the
// spread of the points: completions a few seconds apart would otherwise
// get seconds-level ticks on a 30-day chart.

const DAY_STEPS = [1, 2, 7, 14, 28, 56, 91];
const HOUR_STEPS = [1, 2, 3, 6, 12];

export interface TimeTicks {
  /** Unix seconds of each tick, ascending, inside [start, end]. */
  at: number[];
  /** "day": label with the date; "hour": with the time of day. */
  unit: "day" | "hour";
}

/**
 * Ticks at local midnights (or whole local hours for a window of up to two
 * days), at most `max` of them, stepping by whole days so daylight-saving
 * days stay on midnight. Local means the JavaScript environment's zone,
 * which is the zone the dashboard asks the API for.
 */
export function timeTicks(start: number, end: number, max = 8): TimeTicks {
  if (!(end > start)) return { at: [], unit: "day" };
  const spanHours = (end - start) / 3600;
  if (spanHours <= 48) {
    const step = HOUR_STEPS.find((h) => Math.floor(spanHours / h) + 1 <= max) ?? 24;
    const d = new Date(start * 1000);
    d.setMinutes(0, 0, 0);
    if (d.getTime() < start * 1000) d.setHours(d.getHours() + 1);
    while (d.getHours() % step !== 0) d.setHours(d.getHours() + 1);
    const at: number[] = [];
    for (; d.getTime() <= end * 1000; d.setHours(d.getHours() + step)) at.push(d.getTime() / 1000);
    return { at, unit: "hour" };
  }
  const days = spanHours / 24;
  const step = DAY_STEPS.find((s) => Math.floor(days / s) + 1 <= max) ?? Math.ceil(days / max);
  const d = new Date(start * 1000);
  d.setHours(0, 0, 0, 0);
  if (d.getTime() < start * 1000) d.setDate(d.getDate() + 1);
  const at: number[] = [];
  for (; d.getTime() <= end * 1000; d.setDate(d.getDate() + step)) at.push(d.getTime() / 1000);
  return { at, unit: "day" };
}

const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const hourFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** The label of a tick of `timeTicks`. */
export function tickLabel(at: number, unit: TimeTicks["unit"]): string {
  return (unit === "day" ? dayFormat : hourFormat).format(new Date(at * 1000));
}
