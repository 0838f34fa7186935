import { useEffect, useMemo, useState, type ReactNode } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useSession } from "@/shared/api";
import {
  Button,
  Dialog,
  EmptyState,
  ErrorState,
  Input,
  LoadingState,
  PageHeader,
  Select,
  toast,
} from "@/shared/ui";
import { pluralize } from "@/shared/lib";
import { useAllUsers, useMyClients, type User } from "@/entities/user";
import { useRevealedWebhooks, WebhookSecretDialog } from "@/entities/trigger";
import {
  canDeleteTemplate,
  templateBadges,
  TemplateCard,
  useDeleteWorkflowTemplate,
  useWorkflowTemplates,
  type Instantiated,
  type WorkflowTemplate,
} from "@/entities/workflow-template";
import { InstantiateDialog, type ClientChoice } from "@/features/instantiate-template";

const ORIGIN_ORDER = (t: WorkflowTemplate) => (t.builtin ? 0 : t.shared ? 1 : 2);

/** The template gallery (managers and admins): pick a template, fill it in, get a workflow. */
export default function WorkflowGalleryPage() {
  const user = useSession((s) => s.user);
  const isAdmin = user?.role === "admin";
  const templates = useWorkflowTemplates();
  const [params, setParams] = useSearchParams();
  const [q, setQ] = useState("");
  const [category, setCategory] = useState("");
  const [using, setUsing] = useState<WorkflowTemplate | null>(null);
  const [deleting, setDeleting] = useState<WorkflowTemplate | null>(null);
  const [created, setCreated] = useState<{ id: number; text: string } | null>(null);
  const reveal = useRevealedWebhooks((s) => s.reveal);
  const navigate = useNavigate();
  const defaultClient = Number(params.get("client")) || undefined;

  const categories = useMemo(
    () => [...new Set((templates.data ?? []).map((t) => t.category))].sort(),
    [templates.data],
  );
  const shown = useMemo(() => {
    const needle = q.trim().toLowerCase();
    return (templates.data ?? [])
      .filter((t) => !category || t.category === category)
      .filter(
        (t) =>
          !needle ||
          t.name.toLowerCase().includes(needle) ||
          t.description.toLowerCase().includes(needle),
      )
      .sort((a, b) => ORIGIN_ORDER(a) - ORIGIN_ORDER(b) || a.name.localeCompare(b.name));
  }, [templates.data, q, category]);

  function onCreated(result: Instantiated, name: string) {
    setUsing(null);
    reveal(result.triggers);
    const triggers = result.triggers.length
      ? ` with ${pluralize(result.triggers.length, "trigger")}`
      : "";
    const text = `Created “${name}”${triggers}.`;
    if (isAdmin) {
      // Admins have no editor: the page says where the workflow went.
      setCreated({ id: result.workflowId, text });
    } else {
      toast.success(text);
      navigate(`/manager/workflows/${result.workflowId}`);
    }
  }

  return (
    <>
      <PageHeader title="Workflow templates">
        Start from a ready-made workflow: choose a template, fill in its parameters, and the new
        workflow {isAdmin ? "is created for the client" : "opens in the editor"}. Save your own from
        the editor with <b>Save as template</b>.
      </PageHeader>
      {created && (
        <div
          className="mb-4 flex items-center justify-between rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900"
          role="status"
          data-testid="created-banner"
        >
          <span>
            {created.text}{" "}
            <Link to={`/admin/runs?workflowId=${created.id}`} className="font-medium underline">
              See its runs
            </Link>
          </span>
          <Button size="sm" variant="ghost" onClick={() => setCreated(null)}>
            Dismiss
          </Button>
        </div>
      )}
      <div className="mb-4 flex flex-wrap gap-2">
        <Input
          aria-label="Search templates"
          placeholder="Search templates"
          className="w-64"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
        <Select
          aria-label="Category"
          className="w-48"
          value={category}
          onChange={(e) => setCategory(e.target.value)}
        >
          <option value="">All categories</option>
          {categories.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </Select>
      </div>
      {templates.isPending ? (
        <LoadingState />
      ) : templates.isError ? (
        <ErrorState error={templates.error} onRetry={() => templates.refetch()} />
      ) : shown.length === 0 ? (
        <EmptyState title={templates.data.length ? "No template matches." : "No templates yet."}>
          {templates.data.length
            ? "Clear the search and the category to see every template."
            : "Save a workflow as a template from the editor, and it shows up here."}
        </EmptyState>
      ) : (
        <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-3" data-testid="template-gallery">
          {shown.map((t) => (
            <TemplateCard
              key={t.id}
              template={t}
              badges={templateBadges(t, user?.id)}
              actions={
                <>
                  <Button
                    size="sm"
                    variant="primary"
                    onClick={() => setUsing(t)}
                    aria-label={`Use template ${t.name}`}
                  >
                    Use template
                  </Button>
                  {canDeleteTemplate(t, user) && (
                    <Button
                      size="sm"
                      variant="ghost"
                      className="ml-auto text-rose-700"
                      onClick={() => setDeleting(t)}
                      aria-label={`Delete template ${t.name}`}
                    >
                      Delete
                    </Button>
                  )}
                </>
              }
            />
          ))}
        </div>
      )}
      {using && (
        <ClientChoices isAdmin={isAdmin}>
          {(clients) => (
            <InstantiateDialog
              key={using.id}
              template={using}
              clients={clients}
              defaultClientId={defaultClient}
              onClose={() => {
                setUsing(null);
                if (params.has("client")) setParams({}, { replace: true });
              }}
              onCreated={onCreated}
            />
          )}
        </ClientChoices>
      )}
      <DeleteTemplateDialog template={deleting} onClose={() => setDeleting(null)} />
      <WebhookSecretDialog />
    </>
  );
}

type ClientsRender = (clients: ClientChoice[]) => ReactNode;

/**
 * The clients a workflow may be made for: a manager's own, or every client
 * for an admin. The form waits for the list, so a client named in the URL
 * is preselected.
 */
function ClientChoices({ isAdmin, children }: { isAdmin: boolean; children: ClientsRender }) {
  return isAdmin ? <AdminClients>{children}</AdminClients> : <MyClients>{children}</MyClients>;
}

function MyClients({ children }: { children: ClientsRender }) {
  const q = useMyClients();
  return <ClientList query={q} list={q.data} render={children} />;
}

function AdminClients({ children }: { children: ClientsRender }) {
  const q = useAllUsers("client");
  return <ClientList query={q} list={q.data?.items} render={children} />;
}

function ClientList({
  query,
  list,
  render,
}: {
  query: { isPending: boolean; isError: boolean; error: unknown };
  list: User[] | undefined;
  render: ClientsRender;
}) {
  useEffect(() => {
    if (query.isError) toast.error(query.error);
  }, [query.isError, query.error]);
  if (query.isPending || !list) return null;
  return <>{render(list.map((c) => ({ id: c.id, name: c.displayName || c.username })))}</>;
}

function DeleteTemplateDialog({
  template,
  onClose,
}: {
  template: WorkflowTemplate | null;
  onClose: () => void;
}) {
  const del = useDeleteWorkflowTemplate();
  return (
    <Dialog
      open={!!template}
      onOpenChange={(o) => !o && onClose()}
      title={`Delete “${template?.name ?? ""}”?`}
      description="Workflows made from it stay as they are."
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button
            variant="danger"
            loading={del.isPending}
            onClick={() =>
              del.mutate(template!.id, {
                onSuccess: () => {
                  toast.success(`Deleted “${template!.name}”.`);
                  onClose();
                },
              })
            }
          >
            Delete template
          </Button>
        </>
      }
    />
  );
}
