import type { Priority, TaskSettings } from "@/entities/task";

/** A status being edited; `key` stays put while the name changes. */
export interface DraftStatus {
  key: string;
  id: number | null;
  name: string;
  isDone: boolean;
}

export interface Draft {
  statuses: DraftStatus[];
  /** `fromKey>toKey` */
  transitions: Set<string>;
  /** Hours as typed; empty means no SLA for the priority. */
  sla: Record<Priority, string>;
  attachmentMb: string;
}

export const edge = (from: string, to: string) => `${from}>${to}`;

export function toDraft(s: TaskSettings): Draft {
  const statuses = s.statuses.map((st, i) => ({
    key: st.id != null ? `s${st.id}` : `n${i}`,
    id: st.id ?? null,
    name: st.name,
    isDone: st.isDone,
  }));
  const keyOf = (name: string) => statuses.find((x) => x.name === name)?.key;
  const transitions = new Set<string>();
  for (const t of s.transitions) {
    const f = keyOf(t.from);
    const to = keyOf(t.to);
    if (f && to) transitions.add(edge(f, to));
  }
  const sla = { low: "", medium: "", high: "", critical: "" } as Record<Priority, string>;
  for (const t of s.slaTargets)
    sla[t.priority] = t.targetMinutes == null ? "" : String(+(t.targetMinutes / 60).toFixed(2));
  return {
    statuses,
    transitions,
    sla,
    attachmentMb: String(+(s.attachmentMaxBytes / 2 ** 20).toFixed(2)),
  };
}

/**
 * The request body, plus where each submitted transition came from, so a
 * server error about `transitions[i]` can be shown on its matrix cell.
 */
export function fromDraft(d: Draft): { body: TaskSettings; edges: string[] } {
  const byKey = new Map(d.statuses.map((s) => [s.key, s]));
  const edges = [...d.transitions].filter((e) => {
    const [f, t] = e.split(">");
    return byKey.has(f!) && byKey.has(t!);
  });
  return {
    edges,
    body: {
      statuses: d.statuses.map((s) => ({ id: s.id, name: s.name.trim(), isDone: s.isDone })),
      transitions: edges.map((e) => {
        const [f, t] = e.split(">");
        return { from: byKey.get(f!)!.name.trim(), to: byKey.get(t!)!.name.trim() };
      }),
      slaTargets: (Object.keys(d.sla) as Priority[]).map((priority) => {
        const h = d.sla[priority].trim();
        return { priority, targetMinutes: h === "" ? null : Math.round(Number(h) * 60) };
      }),
      attachmentMaxBytes: Math.round(Number(d.attachmentMb) * 2 ** 20),
    },
  };
}

/** Moves the status at `i` by `by` places. */
export function moveStatus(list: DraftStatus[], i: number, by: number): DraftStatus[] {
  const j = i + by;
  if (j < 0 || j >= list.length) return list;
  const next = [...list];
  [next[i], next[j]] = [next[j]!, next[i]!];
  return next;
}
