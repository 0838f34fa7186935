/** The platform's own node kinds, by the name the library gives them. */
const FLOW_NODE_NAMES: Record<string, string> = {
  "flow.condition": "Condition",
  "flow.approval": "Approval",
  "flow.notification": "Notification",
  "flow.task": "Task",
  "flow.wait": "Wait",
};

export function isFlowKind(kind: string): boolean {
  return kind.startsWith("flow.");
}

/**
 * A node kind for people: the platform's flow nodes by their title
 * (`flow.approval` → Approval), library nodes by their own name (`csv.read`).
 */
export function nodeKindLabel(kind: string): string {
  const known = FLOW_NODE_NAMES[kind];
  if (known) return known;
  if (isFlowKind(kind)) {
    const rest = kind.slice("flow.".length);
    return rest.charAt(0).toUpperCase() + rest.slice(1);
  }
  return kind;
}

/** Flow nodes first (they say what the workflow does), then library nodes, each alphabetical. */
export function sortNodeKinds(kinds: string[]): string[] {
  return [...new Set(kinds)].sort((a, b) => {
    const fa = isFlowKind(a);
    if (fa !== isFlowKind(b)) return fa ? -1 : 1;
    return nodeKindLabel(a).localeCompare(nodeKindLabel(b));
  });
}

const TRIGGER_KIND_NAMES: Record<string, string> = {
  schedule: "Schedule",
  webhook: "Webhook",
  event: "Event",
};

export function triggerKindLabel(kind: string): string {
  return TRIGGER_KIND_NAMES[kind] ?? kind;
}

export type TemplateBadge = "shipped" | "shared" | "mine";

/**
 * Where a template comes from, as badges: shipped with the server, shared by
 * an admin with every manager, and the caller's own (shared or not).
 */
export function templateBadges(
  t: { builtin: boolean; shared: boolean; ownerId?: number | null },
  userId: number | undefined,
): TemplateBadge[] {
  const out: TemplateBadge[] = [];
  if (t.builtin) out.push("shipped");
  else if (t.shared) out.push("shared");
  if (!t.builtin && userId != null && t.ownerId === userId) out.push("mine");
  return out;
}

/** Shipped templates cannot be deleted; others by their owner or an admin. */
export function canDeleteTemplate(
  t: { builtin: boolean; ownerId?: number | null },
  user: { id: number; role: string } | null | undefined,
): boolean {
  if (t.builtin || !user) return false;
  return user.role === "admin" || t.ownerId === user.id;
}
