import { Button, toast } from "@/shared/ui";
import { useInstallStarterLibrary, type InstallReport, type SkipReason } from "./api";

const REASONS: Record<SkipReason, string> = {
  edited_locally: "edited locally",
  deleted_locally: "deleted locally",
  invalid: "does not fit this server's limits",
};

/** "Install starter library": creates missing starter nodes, updates unedited ones. */
export function InstallStarterLibraryButton({
  onInstalled,
  variant = "secondary",
}: {
  onInstalled: (report: InstallReport) => void;
  variant?: "primary" | "secondary";
}) {
  const install = useInstallStarterLibrary();
  return (
    <Button
      variant={variant}
      disabled={install.isPending}
      onClick={() =>
        install.mutate(undefined, {
          onSuccess: (report) => {
            onInstalled(report);
            toast.success(summary(report));
          },
          onError: (e) => toast.error(e),
        })
      }
    >
      {install.isPending ? "Installing…" : "Install starter library"}
    </Button>
  );
}

export function summary(r: InstallReport) {
  return (
    `Starter library: ${r.created.length} created, ${r.updated.length} updated, ` +
    `${r.unchanged.length} unchanged, ${r.skipped.length} skipped.`
  );
}

/** What the last install did, name by name. */
export function InstallReportPanel({
  report,
  onDismiss,
}: {
  report: InstallReport;
  onDismiss: () => void;
}) {
  const groups: [string, string[]][] = [
    ["Created", report.created],
    ["Updated", report.updated],
    ["Unchanged", report.unchanged],
  ];
  return (
    <section
      className="mb-4 rounded-lg border border-indigo-200 bg-indigo-50 p-4 text-sm text-slate-700"
      aria-label="Starter library install report"
      data-testid="starter-install-report"
    >
      <div className="flex items-start justify-between gap-2">
        <p className="font-medium text-slate-900">{summary(report)}</p>
        <Button size="sm" onClick={onDismiss}>
          Dismiss
        </Button>
      </div>
      <dl className="mt-2 space-y-1">
        {groups
          .filter(([, names]) => names.length > 0)
          .map(([label, names]) => (
            <div key={label} className="flex gap-2">
              <dt className="w-24 shrink-0 text-slate-600">{label}</dt>
              <dd className="font-mono text-xs leading-5">{names.join(", ")}</dd>
            </div>
          ))}
        {report.skipped.length > 0 && (
          <div className="flex gap-2">
            <dt className="w-24 shrink-0 text-slate-600">Skipped</dt>
            <dd>
              <ul className="space-y-0.5">
                {report.skipped.map((s) => (
                  <li key={s.name}>
                    <span className="font-mono text-xs">{s.name}</span> — {REASONS[s.reason]}
                    {s.reason === "invalid" && `: ${s.message}`}
                  </li>
                ))}
              </ul>
            </dd>
          </div>
        )}
      </dl>
    </section>
  );
}
