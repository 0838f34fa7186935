/**
 * The dashboard's filters, kept in the URL so a view can be shared and
 * survives a reload: `range` (a preset) or `from`/`to` (local days),
 * `bucket`, `client`, `assignee`, `workflow`. Pure, so it is unit-tested.
 */
export const PRESETS = ["7d", "30d", "90d", "365d"] as const;
export type Preset = (typeof PRESETS)[number];
export type Bucket = "day" | "week";

export interface AnalyticsFilters {
  range?: Preset;
  from?: string;
  to?: string;
  bucket: Bucket;
  clientId?: number;
  assigneeId?: number;
  workflowId?: number;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function id(v: string | null): number | undefined {
  const n = Number(v);
  return v && Number.isInteger(n) && n > 0 ? n : undefined;
}

export function filtersFromSearch(p: URLSearchParams): AnalyticsFilters {
  const from = p.get("from") ?? "";
  const to = p.get("to") ?? "";
  const custom = DAY.test(from) && DAY.test(to);
  const range = PRESETS.find((r) => r === p.get("range"));
  return {
    ...(custom ? { from, to } : { range: range ?? "30d" }),
    bucket: p.get("bucket") === "week" ? "week" : "day",
    clientId: id(p.get("client")),
    assigneeId: id(p.get("assignee")),
    workflowId: id(p.get("workflow")),
  };
}

/** The URL form; defaults are left out so the plain page URL stays clean. */
export function filtersToSearch(f: AnalyticsFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.from && f.to) {
    p.set("from", f.from);
    p.set("to", f.to);
  } else if (f.range && f.range !== "30d") p.set("range", f.range);
  if (f.bucket === "week") p.set("bucket", "week");
  if (f.clientId) p.set("client", String(f.clientId));
  if (f.assigneeId) p.set("assignee", String(f.assigneeId));
  if (f.workflowId) p.set("workflow", String(f.workflowId));
  return p;
}

export interface AnalyticsQuery {
  range?: Preset;
  from?: string;
  to?: string;
  bucket: Bucket;
  tz: string;
  clientId?: number;
  assigneeId?: number;
  workflowId?: number;
}

/** The API query (`tz` is the browser's zone); runs have no assignee. */
export function filtersToQuery(
  f: AnalyticsFilters,
  tz: string,
  target: "tasks" | "runs",
): AnalyticsQuery {
  return {
    ...(f.from && f.to ? { from: f.from, to: f.to } : { range: f.range ?? "30d" }),
    bucket: f.bucket,
    tz,
    clientId: f.clientId || undefined,
    assigneeId: target === "tasks" && f.assigneeId ? f.assigneeId : undefined,
    workflowId: f.workflowId || undefined,
  };
}

export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}
