import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { api, errorMessage, unwrap, useSession } from "@/shared/api";
import { Badge, Button, Field, Input, Select, Table, Td, Th, toast } from "@/shared/ui";
import { cn } from "@/shared/lib";
import { usePeople } from "@/entities/user";
import { taskKeys } from "@/entities/task";
import {
  FIELDS,
  downloadReport,
  fieldLabel,
  importKeys,
  uploadImport,
  useImport,
  useImportPreview,
  useImportProgress,
  useImports,
  useSavedMappings,
  type DryRun,
  type ImportField,
  type ImportSession,
  type Mapping,
  type Preview,
  type Source,
} from "@/entities/import";

type Step = "upload" | "map" | "review" | "apply";
const STEPS: { id: Step; label: string }[] = [
  { id: "upload", label: "Upload" },
  { id: "map", label: "Map columns" },
  { id: "review", label: "Dry run" },
  { id: "apply", label: "Import" },
];

/**
 * The task import wizard (`/manager/tasks/import`, `/admin/tasks/import`):
 * upload a CSV or XLSX, choose sheet and client, map columns (suggested from
 * the headers) and values, dry-run, download the error report, apply in the
 * background with a progress bar, and land on the board filtered to the batch.
 */
export default function TaskImportPage() {
  const role = useSession((s) => s.user?.role);
  const base = role === "admin" ? "/admin" : "/manager";
  const [step, setStep] = useState<Step>("upload");
  const [session, setSession] = useState<ImportSession | null>(null);
  const [initial, setInitial] = useState<Preview | null>(null);
  const [sheet, setSheet] = useState<string | null>(null);
  const [headerRow, setHeaderRow] = useState<number | null>(null);
  const [clientId, setClientId] = useState<number | null>(null);
  const [mapping, setMapping] = useState<Mapping>({
    fields: {},
    custom: [],
    dateFormat: null,
    statusValues: {},
    priorityValues: {},
  });
  const [dry, setDry] = useState<DryRun | null>(null);
  const preview = useImportPreview(session?.id ?? null, sheet, headerRow, initial);
  const people = usePeople();

  const p = preview.data ?? initial;
  // A new sheet or header row brings new columns: take its suggestion.
  const lastHeaders = useRef<string>("");
  useEffect(() => {
    if (!p) return;
    const key = p.headers.join("\u0000");
    if (key !== lastHeaders.current) {
      lastHeaders.current = key;
      setMapping((m) => ({ ...m, fields: p.suggested.fields ?? {}, custom: [] }));
    }
  }, [p]);
  useEffect(() => {
    if (clientId == null && people.clients.length === 1) setClientId(people.clients[0]!.id);
  }, [people.clients, clientId]);

  return (
    <div className="mx-auto flex max-w-6xl flex-col gap-6">
      <div className="flex items-center gap-4">
        <h1 className="text-xl font-semibold text-slate-900">Import tasks</h1>
        <Link to={`${base}/tasks`} className="text-sm text-indigo-700 underline">
          Back to the board
        </Link>
      </div>
      <ol className="flex gap-2" aria-label="Import steps">
        {STEPS.map((s, i) => (
          <li
            key={s.id}
            aria-current={s.id === step ? "step" : undefined}
            className={cn(
              "rounded-full px-3 py-1 text-sm",
              s.id === step ? "bg-indigo-600 text-white" : "bg-slate-100 text-slate-700",
            )}
          >
            {i + 1}. {s.label}
          </li>
        ))}
      </ol>
      {step === "upload" && (
        <UploadStep
          onUploaded={(s, pv) => {
            setSession(s);
            setInitial(pv);
            setSheet(null);
            setHeaderRow(null);
            setStep("map");
          }}
        />
      )}
      {step === "map" && session && p && (
        <MapStep
          preview={p}
          sheet={sheet ?? p.sheet ?? null}
          onSheet={setSheet}
          headerRow={headerRow ?? p.headerRow ?? 0}
          onHeaderRow={setHeaderRow}
          clients={people.clients}
          clientId={clientId}
          onClient={setClientId}
          mapping={mapping}
          onMapping={setMapping}
          onDryRun={async () => {
            if (clientId == null) return toast.error("Choose the client the tasks belong to.");
            try {
              const r = await unwrap(
                api.POST("/api/tasks/imports/{id}/dry-run", {
                  params: { path: { id: session.id } },
                  body: {
                    clientId,
                    sheet: sheet ?? p.sheet ?? undefined,
                    headerRow: headerRow ?? p.headerRow ?? 0,
                    mapping,
                  },
                }),
              );
              setDry(r);
              setStep("review");
            } catch (e) {
              toast.error(e);
            }
          }}
        />
      )}
      {step === "review" && session && p && dry && clientId != null && (
        <ReviewStep
          session={session}
          preview={p}
          dry={dry}
          mapping={mapping}
          onBack={() => setStep("map")}
          onRerun={async (m) => {
            setMapping(m);
            try {
              setDry(
                await unwrap(
                  api.POST("/api/tasks/imports/{id}/dry-run", {
                    params: { path: { id: session.id } },
                    body: {
                      clientId,
                      sheet: sheet ?? p.sheet ?? undefined,
                      headerRow: headerRow ?? p.headerRow ?? 0,
                      mapping: m,
                    },
                  }),
                ),
              );
            } catch (e) {
              toast.error(e);
            }
          }}
          onApply={async (mode) => {
            try {
              const s = await unwrap(
                api.POST("/api/tasks/imports/{id}/apply", {
                  params: { path: { id: session.id } },
                  body: { mode },
                }),
              );
              setSession(s);
              setStep("apply");
            } catch (e) {
              toast.error(e);
            }
          }}
        />
      )}
      {step === "apply" && session && <ApplyStep id={session.id} base={base} />}
      {step === "upload" && <RecentImports />}
    </div>
  );
}

function UploadStep({ onUploaded }: { onUploaded: (s: ImportSession, p: Preview) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [fraction, setFraction] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const send = async (file: File) => {
    setError(null);
    setFraction(0);
    try {
      const r = await uploadImport(file, setFraction);
      onUploaded(r.import, r.preview);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setFraction(null);
    }
  };
  return (
    <section
      data-testid="import-dropzone"
      className={cn(
        "rounded-lg border-2 border-dashed p-10 text-center",
        over ? "border-indigo-500 bg-indigo-50" : "border-slate-300",
      )}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes("Files")) return;
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const f = e.dataTransfer.files[0];
        if (f) void send(f);
      }}
    >
      <p className="text-slate-800">
        Drop a CSV or Excel (.xlsx) file here, or{" "}
        <button
          type="button"
          className="font-medium text-indigo-700 underline"
          onClick={() => input.current?.click()}
        >
          choose a file
        </button>
        .
      </p>
      <p className="mt-1 text-sm text-slate-600">
        Exports from Excel, Google Sheets, Jira, Asana or Linear work as they are: encoding,
        delimiter and header row are detected.
      </p>
      <input
        ref={input}
        type="file"
        accept=".csv,.txt,.tsv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        className="sr-only"
        aria-label="File to import"
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) void send(f);
          e.target.value = "";
        }}
      />
      {fraction != null && (
        <progress className="mt-4 h-2 w-64" value={fraction} max={1} aria-label="Uploading" />
      )}
      {error && (
        <p role="alert" className="mt-4 text-sm text-rose-700">
          {error}
        </p>
      )}
    </section>
  );
}

function sourceValue(s: Source | undefined): string {
  if (!s) return "";
  if ("column" in s) return `column:${s.column}`;
  return "constant";
}

function MapStep(props: {
  preview: Preview;
  sheet: string | null;
  onSheet: (s: string) => void;
  headerRow: number;
  onHeaderRow: (n: number) => void;
  clients: { id: number; name: string }[];
  clientId: number | null;
  onClient: (id: number) => void;
  mapping: Mapping;
  onMapping: (m: Mapping) => void;
  onDryRun: () => Promise<void>;
}) {
  const { preview: p, mapping, onMapping } = props;
  const qc = useQueryClient();
  const saved = useSavedMappings();
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const fields = mapping.fields ?? {};
  const setField = (f: ImportField, s: Source | null) => {
    const next = { ...fields };
    if (s) next[f] = s;
    else delete next[f];
    onMapping({ ...mapping, fields: next });
  };
  const used = new Set(
    Object.values(fields).flatMap((s) => (s && "column" in s ? [s.column] : [])),
  );
  return (
    <div className="flex flex-col gap-6">
      <div className="grid gap-4 sm:grid-cols-4">
        <Field label="Client">
          {(id) => (
            <Select
              id={id}
              value={props.clientId ?? ""}
              onChange={(e) => props.onClient(Number(e.target.value))}
            >
              <option value="">Choose…</option>
              {props.clients.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </Select>
          )}
        </Field>
        {p.sheets.length > 0 && (
          <Field label="Sheet">
            {(id) => (
              <Select
                id={id}
                value={props.sheet ?? ""}
                onChange={(e) => props.onSheet(e.target.value)}
              >
                {p.sheets.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </Select>
            )}
          </Field>
        )}
        <Field label="Header row" hint="0 for none">
          {(id) => (
            <Input
              id={id}
              type="number"
              min={0}
              value={props.headerRow}
              onChange={(e) => props.onHeaderRow(Number(e.target.value))}
            />
          )}
        </Field>
        <Field label="Saved mapping">
          {(id) => (
            <Select
              id={id}
              value=""
              onChange={(e) => {
                const m = saved.data?.find((x) => String(x.id) === e.target.value);
                if (m) onMapping(m.mapping);
              }}
            >
              <option value="">Load…</option>
              {saved.data?.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </Select>
          )}
        </Field>
      </div>
      <p className="text-sm text-slate-600">
        {p.rowCount} rows · {p.format.toUpperCase()}
        {p.encoding && ` · ${p.encoding}`}
        {p.delimiter && ` · delimiter “${p.delimiter === "\t" ? "tab" : p.delimiter}”`}
      </p>
      <Table aria-label="Column mapping">
        <thead>
          <tr>
            <Th>Task field</Th>
            <Th>Comes from</Th>
            <Th>Constant</Th>
            <Th>First value</Th>
          </tr>
        </thead>
        <tbody>
          {FIELDS.map((f) => {
            const s = fields[f];
            const col = s && "column" in s ? p.headers.indexOf(s.column) : -1;
            return (
              <tr key={f} data-field={f}>
                <Td className="font-medium">{fieldLabel(f)}</Td>
                <Td>
                  <Select
                    aria-label={`${fieldLabel(f)} source`}
                    value={sourceValue(s)}
                    onChange={(e) => {
                      const v = e.target.value;
                      if (!v) setField(f, null);
                      else if (v === "constant") setField(f, { constant: "" });
                      else setField(f, { column: v.slice("column:".length) });
                    }}
                  >
                    <option value="">— nothing —</option>
                    <option value="constant">A constant</option>
                    {p.headers.map((h) => (
                      <option key={h} value={`column:${h}`}>
                        {used.has(h) && sourceValue(s) !== `column:${h}` ? `${h} (used)` : h}
                      </option>
                    ))}
                  </Select>
                </Td>
                <Td>
                  {s && "constant" in s && (
                    <Input
                      aria-label={`${fieldLabel(f)} constant`}
                      value={s.constant}
                      onChange={(e) => setField(f, { constant: e.target.value })}
                    />
                  )}
                </Td>
                <Td className="max-w-xs truncate text-slate-600">
                  {col >= 0 ? p.rows[0]?.cells[col] : ""}
                </Td>
              </tr>
            );
          })}
        </tbody>
      </Table>
      <Field label="Extra columns appended to the description">
        {(id) => (
          <Select
            id={id}
            multiple
            value={mapping.custom ?? []}
            onChange={(e) =>
              onMapping({
                ...mapping,
                custom: Array.from(e.target.selectedOptions).map((o) => o.value),
              })
            }
            className="h-24"
          >
            {p.headers
              .filter((h) => !used.has(h))
              .map((h) => (
                <option key={h}>{h}</option>
              ))}
          </Select>
        )}
      </Field>
      <details>
        <summary className="cursor-pointer text-sm font-medium text-slate-800">
          Preview of the first {p.rows.length} rows
        </summary>
        <div className="mt-2 max-h-80 overflow-auto">
          <Table aria-label="Preview">
            <thead>
              <tr>
                <Th>Row</Th>
                {p.headers.map((h) => (
                  <Th key={h}>{h}</Th>
                ))}
              </tr>
            </thead>
            <tbody>
              {p.rows.map((r) => (
                <tr key={r.row}>
                  <Td>{r.row}</Td>
                  {r.cells.map((c, i) => (
                    <Td key={i} className="max-w-xs truncate">
                      {c}
                    </Td>
                  ))}
                </tr>
              ))}
            </tbody>
          </Table>
        </div>
      </details>
      <div className="flex flex-wrap items-end gap-3">
        <Button
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            await props.onDryRun();
            setBusy(false);
          }}
        >
          Dry run
        </Button>
        <Input
          aria-label="Mapping name"
          placeholder="Save mapping as…"
          value={name}
          onChange={(e) => setName(e.target.value)}
          className="w-56"
        />
        <Button
          variant="secondary"
          disabled={!name.trim()}
          onClick={async () => {
            try {
              await unwrap(api.PUT("/api/tasks/import-mappings", { body: { name, mapping } }));
              void qc.invalidateQueries({ queryKey: importKeys.mappings });
              toast.success(`Saved mapping “${name}”.`);
            } catch (e) {
              toast.error(e);
            }
          }}
        >
          Save mapping
        </Button>
      </div>
    </div>
  );
}

function ValueTable(props: {
  title: string;
  values: DryRun["statusValues"];
  choices: Preview["statuses"];
  table: Record<string, string>;
  onChange: (t: Record<string, string>) => void;
}) {
  if (!props.values.length) return null;
  return (
    <Table aria-label={`${props.title} values`}>
      <thead>
        <tr>
          <Th>{props.title} in the file</Th>
          <Th>Rows</Th>
          <Th>Becomes</Th>
        </tr>
      </thead>
      <tbody>
        {props.values.map((v) => (
          <tr key={v.value}>
            <Td>{v.value}</Td>
            <Td>{v.count}</Td>
            <Td>
              <Select
                aria-label={`${props.title} for ${v.value}`}
                value={props.table[v.value] ?? v.key ?? ""}
                onChange={(e) => props.onChange({ ...props.table, [v.value]: e.target.value })}
              >
                <option value="">— not mapped —</option>
                {props.choices.map((c) => (
                  <option key={c.key} value={c.key}>
                    {c.label}
                  </option>
                ))}
              </Select>
            </Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

function ReviewStep(props: {
  session: ImportSession;
  preview: Preview;
  dry: DryRun;
  mapping: Mapping;
  onBack: () => void;
  onRerun: (m: Mapping) => Promise<void>;
  onApply: (mode: "all_or_nothing" | "valid_only") => Promise<void>;
}) {
  const { dry, mapping, preview: p } = props;
  const [m, setM] = useState<Mapping>(mapping);
  const [busy, setBusy] = useState(false);
  useEffect(() => setM(mapping), [mapping]);
  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    await fn();
    setBusy(false);
  };
  return (
    <div className="flex flex-col gap-6">
      <div className="flex flex-wrap gap-3" data-testid="dry-run-counts">
        <Badge tone="green">{dry.valid} valid</Badge>
        <Badge tone={dry.invalid ? "rose" : "slate"}>{dry.invalid} with errors</Badge>
        <Badge tone={dry.warnings ? "amber" : "slate"}>{dry.warnings} with warnings</Badge>
        {dry.updates > 0 && <Badge tone="amber">{dry.updates} update earlier imports</Badge>}
      </div>
      {dry.sameFileImports.length > 0 && (
        <p role="status" className="text-sm text-amber-800">
          This file was imported into this client before (import{" "}
          {dry.sameFileImports.map((i) => `#${i}`).join(", ")}). Rows with an external id update
          those tasks; rows without one are created again.
        </p>
      )}
      {dry.dates.ambiguous && (
        <Field label="Dates like 03/04/2026 are ambiguous: which order?">
          {(id) => (
            <Select
              id={id}
              value={m.dateFormat ?? ""}
              onChange={(e) =>
                setM({ ...m, dateFormat: (e.target.value || null) as Mapping["dateFormat"] })
              }
            >
              <option value="">Choose…</option>
              <option value="dmy">Day/month/year</option>
              <option value="mdy">Month/day/year</option>
            </Select>
          )}
        </Field>
      )}
      <div className="grid gap-4 lg:grid-cols-2">
        <ValueTable
          title="Status"
          values={dry.statusValues}
          choices={p.statuses}
          table={m.statusValues ?? {}}
          onChange={(t) => setM({ ...m, statusValues: t })}
        />
        <ValueTable
          title="Priority"
          values={dry.priorityValues}
          choices={p.priorities}
          table={m.priorityValues ?? {}}
          onChange={(t) => setM({ ...m, priorityValues: t })}
        />
      </div>
      {dry.problems.length > 0 && (
        <div className="max-h-96 overflow-auto">
          <Table aria-label="Problems">
            <thead>
              <tr>
                <Th>Row</Th>
                <Th>Column</Th>
                <Th>Value</Th>
                <Th>Problem</Th>
              </tr>
            </thead>
            <tbody>
              {dry.problems.map((x, i) => (
                <tr key={i} data-severity={x.severity}>
                  <Td>{x.row}</Td>
                  <Td>{x.column}</Td>
                  <Td className="max-w-xs truncate">{x.value}</Td>
                  <Td className={x.severity === "error" ? "text-rose-700" : "text-amber-800"}>
                    {x.reason}
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
          {dry.problemsTruncated && (
            <p className="mt-1 text-xs text-slate-600">
              The first {dry.problems.length} problems; the report has them all.
            </p>
          )}
        </div>
      )}
      <div className="flex flex-wrap gap-3">
        <Button variant="secondary" onClick={props.onBack}>
          Back to mapping
        </Button>
        <Button variant="secondary" disabled={busy} onClick={() => run(() => props.onRerun(m))}>
          Dry run again
        </Button>
        {dry.invalid + dry.warnings > 0 && (
          <Button
            variant="secondary"
            onClick={() =>
              downloadReport(props.session.id, props.session.fileName).catch((e) => toast.error(e))
            }
          >
            Download error report
          </Button>
        )}
        <Button
          disabled={busy || dry.valid === 0}
          onClick={() => run(() => props.onApply("valid_only"))}
        >
          Import {dry.valid} valid rows
        </Button>
        <Button
          variant="secondary"
          disabled={busy || dry.invalid > 0}
          title={dry.invalid > 0 ? "Fix the rows with errors first" : undefined}
          onClick={() => run(() => props.onApply("all_or_nothing"))}
        >
          Import all or nothing
        </Button>
      </div>
    </div>
  );
}

function ApplyStep({ id, base }: { id: number; base: string }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const session = useImport(id);
  const live = useImportProgress(id, true);
  const state = live?.state ?? session.data?.state;
  const settled = state === "applied" || state === "failed" || state === "undone";
  // The row is the truth; poll it in case the stream drops.
  useEffect(() => {
    if (settled) {
      void qc.invalidateQueries({ queryKey: importKeys.detail(id) });
      void qc.invalidateQueries({ queryKey: taskKeys.all });
      return;
    }
    const t = setInterval(
      () => void qc.invalidateQueries({ queryKey: importKeys.detail(id) }),
      2000,
    );
    return () => clearInterval(t);
  }, [settled, id, qc]);
  const s = session.data;
  const done = live?.rowsDone ?? s?.rowsDone ?? 0;
  const total = live?.rowsTotal ?? s?.rowsTotal ?? 0;
  return (
    <section className="flex flex-col gap-4" aria-live="polite">
      <progress
        className="h-3 w-full"
        value={state === "applied" ? total : done}
        max={Math.max(total, 1)}
        aria-label="Import progress"
      />
      <p className="text-sm text-slate-700" data-testid="import-state">
        {state === "applied"
          ? `Done: ${s?.created ?? live?.created ?? 0} created, ${s?.updated ?? live?.updated ?? 0} updated, ${s?.skipped ?? live?.skipped ?? 0} skipped.`
          : state === "failed"
            ? `Nothing was imported: ${live?.message ?? s?.message ?? ""}`
            : `Importing… ${done} of ${total} rows`}
      </p>
      {state === "applied" && s?.message && <p className="text-sm text-amber-800">{s.message}</p>}
      {state === "applied" && (
        <div className="flex gap-3">
          <Button onClick={() => navigate(`${base}/tasks?import=${id}`)}>
            Open the imported tasks
          </Button>
        </div>
      )}
    </section>
  );
}

function RecentImports() {
  const list = useImports();
  const qc = useQueryClient();
  const items = useMemo(() => list.data?.items ?? [], [list.data]);
  if (!items.length) return null;
  return (
    <section>
      <h2 className="mb-2 text-sm font-semibold text-slate-900">Recent imports</h2>
      <Table aria-label="Recent imports">
        <thead>
          <tr>
            <Th>When</Th>
            <Th>Who</Th>
            <Th>File</Th>
            <Th>SHA-256</Th>
            <Th>State</Th>
            <Th>Created / updated / skipped</Th>
            <Th />
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.id}>
              <Td>{new Date(i.createdAt).toLocaleString()}</Td>
              <Td>{i.ownerName}</Td>
              <Td>{i.fileName}</Td>
              <Td className="font-mono text-xs">
                <span title={i.sha256}>{i.sha256.slice(0, 12)}…</span>
              </Td>
              <Td>{i.state}</Td>
              <Td>
                {i.created} / {i.updated} / {i.skipped}
              </Td>
              <Td>
                {i.state === "applied" && (
                  <Button
                    variant="secondary"
                    onClick={async () => {
                      if (!window.confirm(`Delete the ${i.created} tasks this import created?`))
                        return;
                      try {
                        await unwrap(
                          api.POST("/api/tasks/imports/{id}/undo", {
                            params: { path: { id: i.id } },
                          }),
                        );
                        void qc.invalidateQueries({ queryKey: importKeys.all });
                        void qc.invalidateQueries({ queryKey: taskKeys.all });
                      } catch (e) {
                        toast.error(e);
                      }
                    }}
                  >
                    Undo
                  </Button>
                )}
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </section>
  );
}
