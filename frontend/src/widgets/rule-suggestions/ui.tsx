import { useState } from "react";
import { errorMessage } from "@/shared/api";
import { Button, toast } from "@/shared/ui";
import { browserTimeZone } from "@/entities/trigger";
import { useAiEnabled, useRuleSuggestions, type RuleSuggestion } from "@/entities/ai";
import { formFromConfig, TriggerFormDialog } from "@/features/workflow-triggers";

/**
 * Cards of suggested rules, each with the statistic it comes from. "Create
 * rule" opens the trigger editor prefilled with the suggested trigger;
 * nothing is created until the user saves it there. Renders nothing when
 * there is nothing to suggest, and while the assistant is off (the product
 * without a model stays as it was; the API still answers in the platform's
 * words for other clients).
 */
export function RuleSuggestions() {
  const enabled = useAiEnabled();
  const q = useRuleSuggestions(enabled);
  const [open, setOpen] = useState<RuleSuggestion | null>(null);
  if (!enabled || q.isPending) return null;
  if (q.isError)
    return (
      <p role="alert" className="mb-6 text-sm text-rose-700">
        Rule suggestions: {errorMessage(q.error)}
      </p>
    );
  const { items, phrasedBy, notice } = q.data;
  if (items.length === 0) return null;
  return (
    <section
      aria-labelledby="rule-suggestions-title"
      className="mb-6"
      data-testid="rule-suggestions"
    >
      <div className="mb-2 flex items-baseline gap-2">
        <h2 id="rule-suggestions-title" className="text-sm font-semibold text-slate-900">
          Suggested rules
        </h2>
        {phrasedBy ? (
          <span className="rounded bg-violet-700 px-1.5 py-0.5 text-[10px] font-semibold uppercase tracking-wide text-white">
            AI-generated
          </span>
        ) : null}
        <span className="text-xs text-slate-600">
          {phrasedBy
            ? `Worded by ${phrasedBy}; the numbers are the platform's.`
            : (notice ?? "From the platform's statistics.")}
        </span>
      </div>
      <ul className="grid gap-3 md:grid-cols-2 xl:grid-cols-3">
        {items.map((s) => (
          <li
            key={s.id}
            className="flex flex-col rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
            data-testid={`rule-suggestion-${s.id}`}
          >
            <h3 className="text-sm font-semibold text-slate-900">{s.title}</h3>
            <p className="mt-1 whitespace-pre-wrap text-sm text-slate-700">{s.text}</p>
            <p className="mt-2 text-xs text-slate-600" data-testid="rule-statistic">
              <span className="font-medium">
                {s.statistic.observed} of {s.statistic.outOf}
              </span>{" "}
              · {s.statistic.description}
            </p>
            <div className="mt-3 flex items-center gap-2">
              {s.rule ? (
                <Button size="sm" variant="primary" onClick={() => setOpen(s)}>
                  Create rule
                </Button>
              ) : (
                <span className="text-xs text-slate-600">
                  No trigger does this; set the assignee in the task node.
                </span>
              )}
              {s.rule && (
                <span className="truncate text-xs text-slate-600">on “{s.rule.workflowName}”</span>
              )}
            </div>
          </li>
        ))}
      </ul>
      {open?.rule && (
        <TriggerFormDialog
          key={open.id}
          workflowId={open.rule.workflowId}
          clientId={open.rule.clientId}
          editing={null}
          initial={formFromConfig(open.rule.name, open.rule.config, browserTimeZone())}
          ports={[]}
          onClose={() => setOpen(null)}
          onCreated={(created) => {
            toast.success(`Added “${created.trigger.name}” to “${open.rule?.workflowName}”.`);
            void q.refetch();
          }}
        />
      )}
    </section>
  );
}
