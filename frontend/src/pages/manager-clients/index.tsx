import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { fieldErrors } from "@/shared/api";
import { formatDateTime, importOnce, pluralize } from "@/shared/lib";
import {
  Badge,
  Button,
  Dialog,
  EmptyState,
  ErrorState,
  Field,
  Input,
  LoadingState,
  PageHeader,
} from "@/shared/ui";
import { useMyClients, type User } from "@/entities/user";
import { ManagedBadge, useCreateWorkflow, useWorkflows } from "@/entities/workflow";
import { ImportManifestButton } from "@/features/import-manifest";
import { RunStatusBadge, useRuns, type RunSummary } from "@/entities/run";
import { AiSummary } from "@/features/ai-summary";
import { RuleSuggestions } from "@/widgets/rule-suggestions";

// Its own chunk (with uPlot behind it), so the client list does not wait for
// it; mounted as soon as it arrives, not through Suspense (see importOnce).
// Asked for as this page loads: the route's loader fetches both chunks at
// once, so the first render usually has it.
const useDashboardModule = importOnce(() => import("@/widgets/analytics-dashboard"));
useDashboardModule.preload();

export default function ManagerClientsPage() {
  const clients = useMyClients();
  const [creatingFor, setCreatingFor] = useState<User | null>(null);
  const dashboard = useDashboardModule();
  const navigate = useNavigate();
  return (
    <>
      <PageHeader
        title="Clients & workflows"
        actions={
          <ImportManifestButton onImported={(w) => navigate(`/manager/workflows/${w.id}`)} />
        }
      >
        Build and run workflows for the clients assigned to you.
      </PageHeader>
      <div className="mb-6">
        {dashboard ? (
          <dashboard.AnalyticsDashboard title="Your clients at a glance" />
        ) : (
          <LoadingState label="Loading the dashboard…" />
        )}
      </div>
      <RuleSuggestions />
      {clients.isPending ? (
        <LoadingState />
      ) : clients.isError ? (
        <ErrorState error={clients.error} onRetry={() => clients.refetch()} />
      ) : clients.data.length === 0 ? (
        <EmptyState title="No clients are assigned to you yet.">
          An administrator assigns clients to managers under Admin → Assignments. Ask yours to
          assign you a client; then you can build and run workflows for them here.
        </EmptyState>
      ) : (
        <div className="space-y-4">
          {clients.data.map((c) => (
            <ClientCard key={c.id} client={c} onNew={() => setCreatingFor(c)} />
          ))}
        </div>
      )}
      <NewWorkflowDialog client={creatingFor} onClose={() => setCreatingFor(null)} />
    </>
  );
}

function ClientCard({ client, onNew }: { client: User; onNew: () => void }) {
  const workflows = useWorkflows(client.id);
  // Newest first: the first run seen per workflow is its latest.
  const runs = useRuns({ clientId: client.id, perPage: 100 }, { refetchInterval: 10_000 });
  const latest = new Map<number, RunSummary>();
  for (const r of runs.data?.items ?? [])
    if (!latest.has(r.workflowId)) latest.set(r.workflowId, r);
  return (
    <section
      className="rounded-lg border border-slate-200 bg-white shadow-sm"
      aria-label={`Client ${client.displayName}`}
      data-testid={`client-${client.username}`}
    >
      <div className="flex items-center justify-between border-b border-slate-100 px-4 py-3">
        <div>
          <h2 className="font-medium">{client.displayName}</h2>
          <p className="text-xs text-slate-500">
            @{client.username} · {client.email}
          </p>
        </div>
        <div className="flex items-center gap-2">
          <Link
            to={`/manager/templates?client=${client.id}`}
            className="rounded-md px-2.5 py-1 text-xs font-medium text-indigo-700 ring-1 ring-inset ring-indigo-200 hover:bg-indigo-50"
          >
            New from template
          </Link>
          <Button size="sm" variant="primary" onClick={onNew}>
            New workflow
          </Button>
        </div>
      </div>
      <AiSummary
        kind="clientWeek"
        id={client.id}
        label="Summarize this week"
        className="border-b border-slate-100 px-4 py-2"
      />
      {workflows.isPending ? (
        <LoadingState />
      ) : workflows.isError ? (
        <div className="p-3">
          <ErrorState error={workflows.error} onRetry={() => workflows.refetch()} />
        </div>
      ) : workflows.data.items.length === 0 ? (
        <p className="px-4 py-3 text-sm text-slate-600">
          No workflows yet. Press <b>New workflow</b> to build one from the node library; its runs
          and results show up here and, once published, in {client.displayName}’s portal.
        </p>
      ) : (
        <ul className="divide-y divide-slate-100">
          {workflows.data.items.map((w) => (
            <li key={w.id}>
              <Link
                to={`/manager/workflows/${w.id}`}
                className="flex items-center gap-3 px-4 py-2.5 text-sm hover:bg-slate-50"
              >
                <span className="font-medium text-slate-900">{w.name}</span>
                <ManagedBadge workflow={w} />
                <Badge>{pluralize(w.nodes, "node")}</Badge>
                <span className="text-xs text-slate-500">revision {w.revision}</span>
                {latest.get(w.id) ? (
                  <span
                    className="flex items-center gap-1 text-xs text-slate-500"
                    data-testid={`latest-run-${w.id}`}
                  >
                    last run <RunStatusBadge status={latest.get(w.id)!.status} />
                  </span>
                ) : (
                  <span className="text-xs text-slate-500">never run</span>
                )}
                <span className="ml-auto text-xs text-slate-500">
                  updated {formatDateTime(w.updatedAt)}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function NewWorkflowDialog({ client, onClose }: { client: User | null; onClose: () => void }) {
  const [name, setName] = useState("");
  const create = useCreateWorkflow();
  const navigate = useNavigate();
  const errors = fieldErrors(create.error);
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate(
      { clientId: client!.id, name },
      {
        onSuccess: (w) => {
          setName("");
          onClose();
          navigate(`/manager/workflows/${w.id}`);
        },
      },
    );
  }
  return (
    <Dialog
      open={!!client}
      onOpenChange={(o) => !o && onClose()}
      title={`New workflow for ${client?.displayName ?? ""}`}
    >
      <form onSubmit={submit} className="space-y-3">
        <Field label="Name" error={errors.name}>
          {(id) => (
            <Input
              id={id}
              required
              autoFocus
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          )}
        </Field>
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" loading={create.isPending}>
            Create and open editor
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
