import { useMemo, useState } from "react";
import { cn, formatDateTime } from "@/shared/lib";
import { Badge, Button, Dialog, ErrorState, LoadingState, Table, Td, Th, toast } from "@/shared/ui";
import {
  browserTimeZone,
  describeTrigger,
  FiringOutcomeBadge,
  formatInZone,
  sameWallClock,
  triggerKindName,
  useDeleteTrigger,
  useFirings,
  usePatchTrigger,
  useRevealedWebhooks,
  useTriggers,
  type Trigger,
} from "@/entities/trigger";
import {
  useWorkflows,
  type GraphEdge,
  type GraphNode,
  type TemplateLookup,
} from "@/entities/workflow";
import { inputPortChoices } from "../model/ports";
import { TriggerFormDialog } from "./trigger-form-dialog";

/**
 * The workflow's triggers: what starts it besides a person. Lists them with
 * their next times and last firing, and adds, changes, pauses and deletes
 * them. A new webhook's URL and key go to the shown-once dialog.
 */
export function TriggersPanel({
  workflowId,
  clientId,
  nodes,
  edges,
  lookup,
  unsaved,
  onOpenRun,
  onClose,
}: {
  workflowId: number;
  clientId: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
  lookup: TemplateLookup;
  /** The graph has unsaved changes, which triggers do not see yet. */
  unsaved: boolean;
  onOpenRun: (runId: number) => void;
  onClose: () => void;
}) {
  const triggers = useTriggers(workflowId);
  const ports = useMemo(() => inputPortChoices(nodes, edges, lookup), [nodes, edges, lookup]);
  const reveal = useRevealedWebhooks((s) => s.reveal);
  const workflows = useWorkflows(clientId);
  const workflowName = (id: number) =>
    workflows.data?.items.find((w) => w.id === id)?.name ?? `workflow #${id}`;
  const [form, setForm] = useState<{ editing: Trigger | null } | null>(null);
  const [history, setHistory] = useState<Trigger | null>(null);
  const [deleting, setDeleting] = useState<Trigger | null>(null);

  return (
    <aside
      className="flex w-[26rem] shrink-0 flex-col border-l border-slate-200 bg-white"
      aria-label="Triggers"
      data-testid="triggers-panel"
    >
      <div className="flex items-center justify-between border-b border-slate-100 px-4 py-3">
        <div>
          <h2 className="font-semibold">Triggers</h2>
          <p className="text-xs text-slate-500">What starts this workflow besides you.</p>
        </div>
        <div className="flex items-center gap-1">
          <Button size="sm" variant="primary" onClick={() => setForm({ editing: null })}>
            + Add trigger
          </Button>
          <Button size="sm" variant="ghost" onClick={onClose} aria-label="Close triggers">
            ×
          </Button>
        </div>
      </div>
      {unsaved && (
        <p className="border-b border-amber-200 bg-amber-50 px-4 py-2 text-xs text-amber-900">
          Triggers start the saved revision and see only its nodes: save first to use new ones.
        </p>
      )}
      <div className="min-h-0 flex-1 overflow-auto p-3">
        {triggers.isPending ? (
          <LoadingState />
        ) : triggers.isError ? (
          <ErrorState error={triggers.error} onRetry={() => triggers.refetch()} />
        ) : triggers.data.length === 0 ? (
          <div className="rounded-lg border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600">
            No triggers yet. Add one to run this workflow on a schedule, from a webhook, or when a
            task or another run changes.
          </div>
        ) : (
          <ul className="space-y-3">
            {triggers.data.map((t) => (
              <TriggerItem
                key={t.id}
                trigger={t}
                workflowId={workflowId}
                summary={describeTrigger(t.config, workflowName)}
                onEdit={() => setForm({ editing: t })}
                onHistory={() => setHistory(t)}
                onDelete={() => setDeleting(t)}
                onOpenRun={onOpenRun}
              />
            ))}
          </ul>
        )}
      </div>
      {form && (
        <TriggerFormDialog
          key={form.editing?.id ?? "new"}
          workflowId={workflowId}
          clientId={clientId}
          editing={form.editing}
          ports={ports}
          onClose={() => setForm(null)}
          onCreated={(created) => {
            toast.success(`Added “${created.trigger.name}”.`);
            reveal([created]);
          }}
        />
      )}
      <FiringsDialog
        trigger={history}
        onClose={() => setHistory(null)}
        onOpenRun={(id) => {
          setHistory(null);
          onOpenRun(id);
        }}
      />
      <DeleteTriggerDialog
        trigger={deleting}
        workflowId={workflowId}
        onClose={() => setDeleting(null)}
      />
    </aside>
  );
}

function TriggerItem({
  trigger: t,
  workflowId,
  summary,
  onEdit,
  onHistory,
  onDelete,
  onOpenRun,
}: {
  trigger: Trigger;
  workflowId: number;
  summary: string;
  onEdit: () => void;
  onHistory: () => void;
  onDelete: () => void;
  onOpenRun: (runId: number) => void;
}) {
  const patch = usePatchTrigger(workflowId);
  const headingId = `trigger-${t.id}-name`;
  const last = t.lastFiring;
  return (
    <li
      className={cn(
        "rounded-lg border p-3",
        t.enabled ? "border-slate-200" : "border-dashed border-slate-300 bg-slate-50",
      )}
      aria-labelledby={headingId}
      data-testid={`trigger-${t.id}`}
    >
      <div className="flex items-start justify-between gap-2">
        <div className="min-w-0">
          <div className="flex items-center gap-2">
            <Badge
              tone={
                t.config.kind === "schedule"
                  ? "indigo"
                  : t.config.kind === "webhook"
                    ? "sky"
                    : "amber"
              }
            >
              {triggerKindName(t.config.kind)}
            </Badge>
            <h3 id={headingId} className="truncate text-sm font-medium">
              {t.name}
            </h3>
          </div>
          <p className="mt-1 font-mono text-xs text-slate-600">{summary}</p>
        </div>
        <Switch
          checked={t.enabled}
          label={`Enabled: ${t.name}`}
          busy={patch.isPending}
          onChange={(enabled) =>
            patch.mutate(
              { id: t.id, enabled },
              {
                onSuccess: (saved) =>
                  toast.info(`“${saved.name}” is ${saved.enabled ? "enabled" : "paused"}.`),
                onError: (e) => toast.error(e),
              },
            )
          }
        />
      </div>
      {t.config.kind === "schedule" && (
        <UpcomingTimes
          instants={t.enabled ? t.upcoming : []}
          zone={t.config.timezone}
          paused={!t.enabled}
        />
      )}
      <p
        className="mt-2 flex flex-wrap items-center gap-1.5 text-xs text-slate-600"
        data-testid="last-firing"
      >
        <span className="text-slate-500">Last fired:</span>
        {last ? (
          <>
            <FiringOutcomeBadge outcome={last.outcome} />
            <span>{formatDateTime(last.firedAt)}</span>
            {last.runId != null && (
              <button
                className="text-indigo-700 hover:underline"
                onClick={() => onOpenRun(last.runId!)}
              >
                run #{last.runId}
              </button>
            )}
            {last.message && <span className="truncate text-slate-500">{last.message}</span>}
          </>
        ) : (
          <span>never</span>
        )}
      </p>
      <div className="mt-2 flex gap-1">
        <Button size="sm" variant="ghost" onClick={onHistory} aria-label={`History of ${t.name}`}>
          History
        </Button>
        <Button size="sm" variant="ghost" onClick={onEdit} aria-label={`Edit ${t.name}`}>
          Edit
        </Button>
        <Button
          size="sm"
          variant="ghost"
          className="ml-auto text-rose-700"
          onClick={onDelete}
          aria-label={`Delete ${t.name}`}
        >
          Delete
        </Button>
      </div>
    </li>
  );
}

/** A schedule's next times, read in the browser's zone and, where it differs, the trigger's. */
function UpcomingTimes({
  instants,
  zone,
  paused,
}: {
  instants: string[];
  zone: string;
  paused: boolean;
}) {
  const mine = browserTimeZone();
  if (paused) return <p className="mt-2 text-xs text-slate-500">Paused: no upcoming times.</p>;
  if (instants.length === 0)
    return <p className="mt-2 text-xs text-slate-500">This schedule has no upcoming times.</p>;
  return (
    <div className="mt-2">
      <p className="text-xs text-slate-500">
        Next {instants.length === 1 ? "time" : `${instants.length} times`} (your time
        {mine !== zone ? ` · ${zone}` : ""}):
      </p>
      <ol
        className="mt-1 grid grid-cols-[auto_1fr] gap-x-2 gap-y-0.5 text-xs"
        data-testid="upcoming"
      >
        {instants.map((iso) => (
          <li key={iso} className="col-span-2 grid grid-cols-subgrid">
            <time dateTime={iso} className="font-medium text-slate-800">
              {formatInZone(iso, mine)}
            </time>
            {!sameWallClock(iso, mine, zone) && (
              <span className="text-slate-500">· {formatInZone(iso, zone)}</span>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}

function Switch({
  checked,
  label,
  busy,
  onChange,
}: {
  checked: boolean;
  label: string;
  busy?: boolean;
  onChange: (checked: boolean) => void;
}) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      disabled={busy}
      onClick={() => onChange(!checked)}
      className={cn(
        "relative inline-flex h-5 w-9 shrink-0 items-center rounded-full transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60",
        checked ? "bg-indigo-600" : "bg-slate-400",
      )}
    >
      <span
        className={cn(
          "inline-block h-4 w-4 rounded-full bg-white shadow transition-transform",
          checked ? "translate-x-4" : "translate-x-0.5",
        )}
      />
    </button>
  );
}

function FiringsDialog({
  trigger,
  onClose,
  onOpenRun,
}: {
  trigger: Trigger | null;
  onClose: () => void;
  onOpenRun: (runId: number) => void;
}) {
  const firings = useFirings(trigger?.id ?? null);
  return (
    <Dialog
      open={!!trigger}
      onOpenChange={(o) => !o && onClose()}
      wide
      title={`History of “${trigger?.name ?? ""}”`}
      description="Its last 100 firings, newest first."
    >
      {firings.isPending ? (
        <LoadingState />
      ) : firings.isError ? (
        <ErrorState error={firings.error} onRetry={() => firings.refetch()} />
      ) : firings.data.length === 0 ? (
        <p className="text-sm text-slate-600">It has not fired yet.</p>
      ) : (
        <Table aria-label="Firings">
          <thead>
            <tr>
              <Th>Time</Th>
              <Th>Outcome</Th>
              <Th>Run</Th>
              <Th>Message</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {firings.data.map((f) => (
              <tr key={f.id}>
                <Td>
                  <time dateTime={f.firedAt}>{formatDateTime(f.firedAt)}</time>
                </Td>
                <Td>
                  <FiringOutcomeBadge outcome={f.outcome} />
                </Td>
                <Td>
                  {f.runId != null ? (
                    <button
                      className="text-indigo-700 hover:underline"
                      onClick={() => onOpenRun(f.runId!)}
                    >
                      #{f.runId}
                    </button>
                  ) : (
                    "—"
                  )}
                </Td>
                <Td>
                  <span className="text-slate-600">{f.message || "—"}</span>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </Dialog>
  );
}

function DeleteTriggerDialog({
  trigger,
  workflowId,
  onClose,
}: {
  trigger: Trigger | null;
  workflowId: number;
  onClose: () => void;
}) {
  const del = useDeleteTrigger(workflowId);
  return (
    <Dialog
      open={!!trigger}
      onOpenChange={(o) => !o && onClose()}
      title={`Delete “${trigger?.name ?? ""}”?`}
      description={
        trigger?.config.kind === "webhook"
          ? "Its URL stops working at once; runs it started stay."
          : "It stops starting runs; runs it started stay."
      }
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button
            variant="danger"
            loading={del.isPending}
            onClick={() =>
              del.mutate(trigger!.id, {
                onSuccess: () => {
                  toast.success(`Deleted “${trigger!.name}”.`);
                  onClose();
                },
              })
            }
          >
            Delete trigger
          </Button>
        </>
      }
    />
  );
}
