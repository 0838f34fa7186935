import type { ReactNode } from "react";
import { Badge } from "@/shared/ui";
import { cn, pluralize } from "@/shared/lib";
import type { WorkflowTemplate } from "../api";
import {
  isFlowKind,
  nodeKindLabel,
  sortNodeKinds,
  triggerKindLabel,
  type TemplateBadge,
} from "../model/kinds";
import { kindColors } from "../model/preview";
import { GraphPreview } from "./graph-preview";

const BADGE_TONES: Record<TemplateBadge, "indigo" | "sky" | "green"> = {
  shipped: "indigo",
  shared: "sky",
  mine: "green",
};

/** A gallery card: what the template does, a picture of its graph, and the caller's actions. */
export function TemplateCard({
  template: t,
  badges,
  actions,
}: {
  template: WorkflowTemplate;
  badges: TemplateBadge[];
  actions?: ReactNode;
}) {
  const headingId = `workflow-template-${t.id}`;
  return (
    <article
      className="flex flex-col rounded-lg border border-slate-200 bg-white shadow-sm"
      aria-labelledby={headingId}
      data-testid={`workflow-template-${t.id}`}
    >
      <div className="border-b border-slate-100 bg-slate-50/60 p-2">
        <GraphPreview graph={t.graph} className="h-24 w-full" />
      </div>
      <div className="flex flex-1 flex-col p-4">
        <div className="flex items-start justify-between gap-2">
          <div className="min-w-0">
            <p className="text-[11px] font-semibold uppercase tracking-wide text-slate-500">
              {t.category}
            </p>
            <h3 id={headingId} className="font-medium text-slate-900">
              {t.name}
            </h3>
          </div>
          <div className="flex shrink-0 flex-wrap justify-end gap-1">
            {badges.map((b) => (
              <Badge key={b} tone={BADGE_TONES[b]}>
                {b}
              </Badge>
            ))}
          </div>
        </div>
        {t.description && <p className="mt-1.5 text-sm text-slate-600">{t.description}</p>}
        <dl className="mt-3 space-y-1.5 text-xs">
          <div className="flex flex-wrap items-center gap-1">
            <dt className="mr-1 text-slate-500">{pluralize(t.nodeCount, "node")}:</dt>
            {sortNodeKinds(t.nodeKinds).map((k) => (
              <dd
                key={k}
                className={cn(
                  "rounded border px-1.5 py-0.5 text-slate-800",
                  isFlowKind(k) ? "font-medium" : "font-mono",
                )}
                style={{ background: kindColors(k).fill, borderColor: kindColors(k).stroke }}
              >
                {nodeKindLabel(k)}
              </dd>
            ))}
          </div>
          <div className="flex flex-wrap items-center gap-1">
            <dt className="mr-1 text-slate-500">Triggers:</dt>
            {t.triggerKinds.length === 0 ? (
              <dd className="text-slate-600">started by hand</dd>
            ) : (
              [...new Set(t.triggerKinds)].map((k) => (
                <dd key={k} className="rounded bg-amber-50 px-1.5 py-0.5 text-amber-900">
                  {triggerKindLabel(k)}
                </dd>
              ))
            )}
          </div>
        </dl>
        {actions && <div className="mt-auto flex items-center gap-2 pt-4">{actions}</div>}
      </div>
    </article>
  );
}
