import { Fragment, useEffect, useState } from "react";
import { ApiError, fieldErrors } from "@/shared/api";
import { Button, ErrorState, LoadingState, PageHeader, toast } from "@/shared/ui";
import { cn } from "@/shared/lib";
import { priorities, priorityLabels, useSaveTaskSettings, useTaskSettings } from "@/entities/task";
import { edge, fromDraft, moveStatus, toDraft, type Draft } from "./model";

const input = "rounded-md border border-slate-300 bg-white px-2 py-1 text-sm";
const errorText = "text-xs text-rose-700";

/**
 * `/admin/task-settings`: statuses (rename, add, reorder, remove, mark
 * done), the allowed transitions as a from × to matrix, SLA targets per
 * priority and the attachment limit. Saved together; the server's
 * validation errors appear next to the field they are about.
 */
export default function AdminTaskSettingsPage() {
  const settings = useTaskSettings();
  const save = useSaveTaskSettings();
  const [draft, setDraft] = useState<Draft | null>(null);
  const [sent, setSent] = useState<string[]>([]);
  const [seq, setSeq] = useState(0);
  useEffect(() => {
    if (settings.data) setDraft(toDraft(settings.data));
  }, [settings.data]);

  if (settings.error) return <ErrorState error={settings.error} />;
  if (!draft) return <LoadingState label="Loading task settings…" />;

  const errors = fieldErrors(save.error);
  const conflict =
    save.error instanceof ApiError && save.error.status !== 422 ? save.error.message : null;
  const update = (f: (d: Draft) => Draft) => setDraft((d) => (d ? f(d) : d));
  const cellError = (from: string, to: string) => {
    const i = sent.indexOf(edge(from, to));
    return i < 0
      ? undefined
      : (errors[`transitions[${i}]`] ??
          errors[`transitions[${i}].from`] ??
          errors[`transitions[${i}].to`]);
  };

  const onSave = () => {
    const { body, edges } = fromDraft(draft);
    setSent(edges);
    save.mutate(body, { onSuccess: () => toast.success("Task settings saved.") });
  };

  return (
    <div className="max-w-5xl space-y-8">
      <PageHeader title="Task settings">
        Statuses and their order on the board, which moves are allowed, and resolution targets.
      </PageHeader>

      <section aria-labelledby="statuses-h" className="space-y-2">
        <h2 id="statuses-h" className="text-base font-semibold text-slate-900">
          Statuses
        </h2>
        <p className="text-sm text-slate-600">
          Board columns, left to right. “Done” statuses complete a task and stop its SLA clock. A
          status that still has tasks cannot be removed.
        </p>
        {errors.statuses && <p className={errorText}>{errors.statuses}</p>}
        <ol className="space-y-2" data-testid="status-list">
          {draft.statuses.map((s, i) => (
            <li key={s.key} className="flex flex-wrap items-center gap-2">
              <span className="w-6 text-right text-xs text-slate-600">{i + 1}.</span>
              <input
                className={cn(input, "w-56", errors[`statuses[${i}].name`] && "border-rose-500")}
                aria-label={`Status ${i + 1} name`}
                aria-invalid={!!errors[`statuses[${i}].name`]}
                value={s.name}
                onChange={(e) =>
                  update((d) => ({
                    ...d,
                    statuses: d.statuses.map((x) =>
                      x.key === s.key ? { ...x, name: e.target.value } : x,
                    ),
                  }))
                }
              />
              <label className="flex items-center gap-1 text-sm text-slate-700">
                <input
                  type="checkbox"
                  checked={s.isDone}
                  onChange={(e) =>
                    update((d) => ({
                      ...d,
                      statuses: d.statuses.map((x) =>
                        x.key === s.key ? { ...x, isDone: e.target.checked } : x,
                      ),
                    }))
                  }
                />
                Done
              </label>
              <Button
                size="sm"
                variant="ghost"
                aria-label={`Move ${s.name || "status"} up`}
                disabled={i === 0}
                onClick={() => update((d) => ({ ...d, statuses: moveStatus(d.statuses, i, -1) }))}
              >
                ↑
              </Button>
              <Button
                size="sm"
                variant="ghost"
                aria-label={`Move ${s.name || "status"} down`}
                disabled={i === draft.statuses.length - 1}
                onClick={() => update((d) => ({ ...d, statuses: moveStatus(d.statuses, i, 1) }))}
              >
                ↓
              </Button>
              <Button
                size="sm"
                variant="ghost"
                aria-label={`Remove ${s.name || "status"}`}
                onClick={() =>
                  update((d) => ({ ...d, statuses: d.statuses.filter((x) => x.key !== s.key) }))
                }
              >
                Remove
              </Button>
              {errors[`statuses[${i}].name`] && (
                <span className={errorText} role="alert">
                  {errors[`statuses[${i}].name`]}
                </span>
              )}
            </li>
          ))}
        </ol>
        <Button
          size="sm"
          onClick={() => {
            setSeq((n) => n + 1);
            update((d) => ({
              ...d,
              statuses: [...d.statuses, { key: `new${seq}`, id: null, name: "", isDone: false }],
            }));
          }}
        >
          Add status
        </Button>
      </section>

      <section aria-labelledby="transitions-h" className="space-y-2">
        <h2 id="transitions-h" className="text-base font-semibold text-slate-900">
          Allowed transitions
        </h2>
        <p className="text-sm text-slate-600">
          A tick lets a task move from the row’s status to the column’s. Other moves are refused.
        </p>
        <div className="overflow-x-auto">
          <table className="border-collapse text-sm" data-testid="transition-matrix">
            <thead>
              <tr>
                <th scope="col" className="p-2 text-left text-xs text-slate-600">
                  From ↓ / to →
                </th>
                {draft.statuses.map((to) => (
                  <th key={to.key} scope="col" className="p-2 text-xs font-semibold text-slate-800">
                    {to.name || "(unnamed)"}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {draft.statuses.map((from) => (
                <tr key={from.key} className="border-t border-slate-100">
                  <th scope="row" className="p-2 text-left text-xs font-semibold text-slate-800">
                    {from.name || "(unnamed)"}
                  </th>
                  {draft.statuses.map((to) => {
                    const e = edge(from.key, to.key);
                    const err = cellError(from.key, to.key);
                    return (
                      <td key={to.key} className="p-2 text-center">
                        {from.key === to.key ? (
                          <span aria-hidden="true" className="text-slate-400">
                            —
                          </span>
                        ) : (
                          <Fragment>
                            <input
                              type="checkbox"
                              aria-label={`${from.name} to ${to.name}`}
                              aria-invalid={!!err}
                              title={err}
                              checked={draft.transitions.has(e)}
                              onChange={(ev) =>
                                update((d) => {
                                  const t = new Set(d.transitions);
                                  if (ev.target.checked) t.add(e);
                                  else t.delete(e);
                                  return { ...d, transitions: t };
                                })
                              }
                            />
                            {err && <span className={cn(errorText, "block")}>{err}</span>}
                          </Fragment>
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="sla-h" className="space-y-2">
        <h2 id="sla-h" className="text-base font-semibold text-slate-900">
          SLA resolution targets
        </h2>
        <p className="text-sm text-slate-600">
          Hours from creation to completion; at 80 % a task is at risk. Empty: no SLA.
        </p>
        <div className="grid max-w-md grid-cols-[8rem_1fr] items-center gap-2">
          {priorities.map((p) => {
            const i = (Object.keys(draft.sla) as (keyof Draft["sla"])[]).indexOf(p);
            const err = errors[`slaTargets[${i}].targetMinutes`];
            return (
              <Fragment key={p}>
                <label htmlFor={`sla-${p}`} className="text-sm text-slate-700">
                  {priorityLabels[p]}
                </label>
                <span className="flex items-center gap-2">
                  <input
                    id={`sla-${p}`}
                    className={cn(input, "w-28", err && "border-rose-500")}
                    inputMode="decimal"
                    aria-invalid={!!err}
                    value={draft.sla[p]}
                    onChange={(e) =>
                      update((d) => ({ ...d, sla: { ...d.sla, [p]: e.target.value } }))
                    }
                  />
                  <span className="text-xs text-slate-600">hours</span>
                  {err && <span className={errorText}>{err}</span>}
                </span>
              </Fragment>
            );
          })}
          <label htmlFor="attachment-mb" className="text-sm text-slate-700">
            Attachment limit
          </label>
          <span className="flex items-center gap-2">
            <input
              id="attachment-mb"
              className={cn(input, "w-28", errors.attachmentMaxBytes && "border-rose-500")}
              inputMode="decimal"
              value={draft.attachmentMb}
              onChange={(e) => update((d) => ({ ...d, attachmentMb: e.target.value }))}
            />
            <span className="text-xs text-slate-600">MiB</span>
            {errors.attachmentMaxBytes && (
              <span className={errorText}>{errors.attachmentMaxBytes}</span>
            )}
          </span>
        </div>
      </section>

      <div className="flex items-center gap-3 border-t border-slate-200 pt-4">
        <Button variant="primary" disabled={save.isPending} onClick={onSave}>
          Save task settings
        </Button>
        <Button
          variant="ghost"
          onClick={() => {
            save.reset();
            if (settings.data) setDraft(toDraft(settings.data));
          }}
        >
          Discard changes
        </Button>
        {Object.keys(errors).length > 0 && (
          <p role="alert" className="text-sm text-rose-700">
            Nothing was saved; fix the marked fields.
          </p>
        )}
        {conflict && (
          <p role="alert" className="text-sm text-rose-700">
            {conflict}
          </p>
        )}
      </div>
    </div>
  );
}
