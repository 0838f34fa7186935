import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { formatDateTime, useDebounced } from "@/shared/lib";
import {
  Badge,
  Button,
  EmptyState,
  ErrorState,
  Input,
  LoadingState,
  PageHeader,
} from "@/shared/ui";
import { PORT_COLORS, useTemplates, type Template } from "@/entities/template";
import {
  InstallReportPanel,
  InstallStarterLibraryButton,
  type InstallReport,
} from "@/features/install-starter-library";

export default function AdminLibraryPage() {
  const [q, setQ] = useState("");
  const query = useDebounced(q);
  const templates = useTemplates(query);
  const navigate = useNavigate();
  const [report, setReport] = useState<InstallReport | null>(null);
  // Flow nodes belong to the platform: they are in every palette but not the admin's to edit.
  const own = useMemo(() => (templates.data ?? []).filter((t) => !t.builtin), [templates.data]);
  // The empty state offers the install itself; the header offers re-installs.
  const isEmpty = !query && templates.isSuccess && own.length === 0;
  const byCategory = useMemo(() => {
    const groups = new Map<string, Template[]>();
    for (const t of own) {
      const c = t.category || "uncategorised";
      groups.set(c, [...(groups.get(c) ?? []), t]);
    }
    return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [own]);

  return (
    <>
      <PageHeader
        title="Node library"
        actions={
          <div className="flex gap-2">
            {isEmpty ? null : <InstallStarterLibraryButton onInstalled={setReport} />}
            <Button variant="primary" onClick={() => navigate("/admin/library/new")}>
              New node
            </Button>
          </div>
        }
      >
        Python nodes managers can place in workflows. Saving a change creates a new version;
        workflows keep the version they pin.
      </PageHeader>
      {report && <InstallReportPanel report={report} onDismiss={() => setReport(null)} />}
      <Input
        aria-label="Search nodes"
        placeholder="Search nodes…"
        className="mb-4 max-w-sm"
        value={q}
        onChange={(e) => setQ(e.target.value)}
      />
      {templates.isPending ? (
        <LoadingState />
      ) : templates.isError ? (
        <ErrorState error={templates.error} onRetry={() => templates.refetch()} />
      ) : byCategory.length === 0 && query ? (
        <EmptyState title="No node matches this search." />
      ) : byCategory.length === 0 ? (
        <EmptyState title="No node types yet — install the starter library or create one">
          <p>
            The starter library has ready-made nodes for CSV files, tables, text, dates, numbers,
            charts and HTTP requests.
          </p>
          <p>Or write your own with “New node”.</p>
          <div className="mt-4 flex justify-center">
            <InstallStarterLibraryButton variant="primary" onInstalled={setReport} />
          </div>
        </EmptyState>
      ) : (
        <div className="space-y-6">
          {byCategory.map(([category, list]) => (
            <section key={category}>
              <h2 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">
                {category}
              </h2>
              <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
                {list.map((t) => (
                  <Link
                    key={t.name}
                    to={`/admin/library/${encodeURIComponent(t.name)}`}
                    className="group rounded-lg border border-slate-200 bg-white p-4 shadow-sm transition hover:border-indigo-300 hover:shadow"
                    data-testid={`template-card-${t.name}`}
                  >
                    <div className="flex items-start justify-between gap-2">
                      <div>
                        <p className="font-medium text-slate-900 group-hover:text-indigo-700">
                          {t.title}
                        </p>
                        <p className="font-mono text-xs text-slate-500">{t.name}</p>
                      </div>
                      <Badge tone="indigo">v{t.version}</Badge>
                    </div>
                    {t.description && (
                      <p className="mt-2 line-clamp-2 text-sm text-slate-600">{t.description}</p>
                    )}
                    <div className="mt-3 flex flex-wrap items-center gap-1.5 text-xs text-slate-500">
                      {(t.inputs ?? []).map((p) => (
                        <PortChip key={`i-${p.name}`} name={p.name} type={p.type} />
                      ))}
                      <span aria-hidden="true">→</span>
                      {(t.outputs ?? []).map((p) => (
                        <PortChip key={`o-${p.name}`} name={p.name} type={p.type} />
                      ))}
                    </div>
                    <p className="mt-2 text-xs text-slate-500">
                      {t.trustLevel} · {t.executionMode} · updated {formatDateTime(t.createdAt)}
                    </p>
                  </Link>
                ))}
              </div>
            </section>
          ))}
        </div>
      )}
    </>
  );
}

function PortChip({ name, type }: { name: string; type: keyof typeof PORT_COLORS }) {
  return (
    <span className="inline-flex items-center gap-1 rounded bg-slate-100 px-1.5 py-0.5 text-slate-700">
      <span className="h-2 w-2 rounded-full" style={{ background: PORT_COLORS[type] }} />
      {name}
    </span>
  );
}
