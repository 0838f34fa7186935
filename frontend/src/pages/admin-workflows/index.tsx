import { useState } from "react";
import { Link } from "react-router";
import { formatDateTime } from "@/shared/lib";
import {
  Button,
  EmptyState,
  ErrorState,
  Input,
  LoadingState,
  PageHeader,
  Pagination,
  Select,
  Table,
  Td,
  Th,
} from "@/shared/ui";
import { ManagedBadge, useWorkflowList, type WorkflowSummary } from "@/entities/workflow";
import { SaveAsTemplateDialog } from "@/features/save-as-template";
import { useUserNames } from "@/entities/user";

const PER_PAGE = 25;

/** Every workflow of every client, with who built it; each opens its runs. */
export default function AdminWorkflowsPage() {
  const [clientId, setClientId] = useState("");
  const [createdBy, setCreatedBy] = useState("");
  const [q, setQ] = useState("");
  const [page, setPage] = useState(1);
  const users = useUserNames();
  const workflows = useWorkflowList({
    clientId: clientId ? Number(clientId) : undefined,
    createdBy: createdBy ? Number(createdBy) : undefined,
    q: q.trim() || undefined,
    page,
    perPage: PER_PAGE,
  });
  const filtered = !!(clientId || createdBy || q);
  const [templateOf, setTemplateOf] = useState<WorkflowSummary | null>(null);
  return (
    <>
      <PageHeader
        title="All workflows"
        actions={
          <Link
            to="/admin/templates"
            className="rounded-md px-3 py-1.5 text-sm font-medium text-indigo-700 ring-1 ring-inset ring-indigo-200 hover:bg-indigo-50"
          >
            Workflow templates
          </Link>
        }
      >
        Every workflow managers built for their clients. Open one to see its runs.
      </PageHeader>
      <div className="mb-3 flex flex-wrap gap-2">
        <Input
          aria-label="Search by name"
          placeholder="Search by name"
          className="w-56"
          value={q}
          onChange={(e) => {
            setQ(e.target.value);
            setPage(1);
          }}
        />
        <Select
          aria-label="Client"
          className="w-44"
          value={clientId}
          onChange={(e) => {
            setClientId(e.target.value);
            setPage(1);
          }}
        >
          <option value="">Any client</option>
          {users.clients.map((u) => (
            <option key={u.id} value={u.id}>
              {u.displayName || u.username}
            </option>
          ))}
        </Select>
        <Select
          aria-label="Manager"
          className="w-44"
          value={createdBy}
          onChange={(e) => {
            setCreatedBy(e.target.value);
            setPage(1);
          }}
        >
          <option value="">Any manager</option>
          {[...users.managers, ...users.admins].map((u) => (
            <option key={u.id} value={u.id}>
              {u.displayName || u.username}
            </option>
          ))}
        </Select>
      </div>
      {workflows.isPending ? (
        <LoadingState />
      ) : workflows.isError ? (
        <ErrorState error={workflows.error} onRetry={() => workflows.refetch()} />
      ) : workflows.data.items.length === 0 ? (
        <EmptyState title={filtered ? "No workflows match these filters." : "No workflows yet."}>
          {filtered
            ? "Clear the search and filters to see every workflow."
            : "Managers build workflows for the clients you assign to them: create users, assign a client to a manager under Assignments, then sign in as the manager. Or start the server with KATALUSIS_DEMO=true for a populated demo."}
        </EmptyState>
      ) : (
        <>
          <Table>
            <thead>
              <tr>
                <Th>Workflow</Th>
                <Th>Client</Th>
                <Th>Created by</Th>
                <Th>Nodes</Th>
                <Th>Revision</Th>
                <Th>Updated</Th>
                <Th>
                  <span className="sr-only">Actions</span>
                </Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {workflows.data.items.map((w) => (
                <tr key={w.id} data-testid={`admin-workflow-${w.id}`}>
                  <Td>
                    <Link
                      to={`/admin/runs?workflowId=${w.id}`}
                      className="font-medium text-indigo-700 hover:underline"
                    >
                      {w.name}
                    </Link>{" "}
                    <ManagedBadge workflow={w} />
                    {w.description && (
                      <p className="max-w-md truncate text-xs text-slate-500">{w.description}</p>
                    )}
                  </Td>
                  <Td>{users.name(w.clientId)}</Td>
                  <Td>{users.name(w.createdBy)}</Td>
                  <Td>{w.nodes}</Td>
                  <Td>{w.revision}</Td>
                  <Td>{formatDateTime(w.updatedAt)}</Td>
                  <Td>
                    <Button
                      size="sm"
                      variant="ghost"
                      onClick={() => setTemplateOf(w)}
                      aria-label={`Save as template: ${w.name}`}
                    >
                      Save as template
                    </Button>
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
          <Pagination
            page={page}
            perPage={PER_PAGE}
            total={workflows.data.total ?? 0}
            onPage={setPage}
          />
        </>
      )}
      {templateOf && (
        <SaveAsTemplateDialog
          workflowId={templateOf.id}
          workflowName={templateOf.name}
          unsaved={false}
          onClose={() => setTemplateOf(null)}
        />
      )}
    </>
  );
}
