import { useEffect, useState } from "react";
import { useNavigate, useParams } from "react-router";
import * as Tabs from "@radix-ui/react-tabs";
import { ApiError, fieldErrors } from "@/shared/api";
import { cn, formatDateTime } from "@/shared/lib";
import {
  Badge,
  Button,
  Checkbox,
  ErrorState,
  Field,
  Input,
  LoadingState,
  Select,
  toast,
} from "@/shared/ui";
import { CodeDiff, CodeEditor } from "@/shared/code";
import {
  PARAM_KINDS,
  PORT_COLORS,
  PORT_TYPES,
  fetchTemplateVersion,
  useDeleteTemplate,
  useSaveTemplate,
  useTemplate,
  useTemplateVersions,
  type ParamSpec,
  type PortSpec,
  type TemplateSpec,
} from "@/entities/template";
import { TestNodePanel } from "./test-panel";

const NEW_CODE = `def run(inputs, params, ctx):
    ctx.log("processing")
    return {"result": inputs["value"]}
`;

function blankSpec(): TemplateSpec {
  return {
    name: "",
    title: "",
    description: "",
    category: "",
    code: NEW_CODE,
    executionMode: "sync",
    trustLevel: "restricted",
    inputs: [{ name: "value", type: "string", required: true, description: "" }],
    outputs: [{ name: "result", type: "string", required: false, description: "" }],
    parameters: [],
    limits: { timeoutSeconds: 60, memoryMib: 256, cpuMillicores: 1000 },
    retry: { maxAttempts: 1, backoffSeconds: 0, backoffMultiplier: 2 },
  } as TemplateSpec;
}

export default function AdminTemplatePage() {
  const { name = "new" } = useParams();
  const isNew = name === "new";
  const template = useTemplate(isNew ? null : name);
  if (!isNew && template.isPending) return <LoadingState />;
  if (!isNew && template.isError) {
    return (
      <div className="p-6">
        <ErrorState error={template.error} onRetry={() => template.refetch()} />
      </div>
    );
  }
  const { version, createdAt, createdBy, deleted, sha256, ...spec } =
    template.data ?? ({} as Record<string, unknown>);
  void createdAt;
  void createdBy;
  void sha256;
  return (
    <TemplateEditor
      key={`${name}@${String(version ?? 0)}`}
      initial={isNew ? blankSpec() : (spec as TemplateSpec)}
      isNew={isNew}
      version={version as number | undefined}
      deleted={!!deleted}
    />
  );
}

function TemplateEditor({
  initial,
  isNew,
  version,
  deleted,
}: {
  initial: TemplateSpec;
  isNew: boolean;
  version?: number;
  deleted: boolean;
}) {
  const [spec, setSpec] = useState<TemplateSpec>(initial);
  const save = useSaveTemplate();
  const remove = useDeleteTemplate();
  const navigate = useNavigate();
  const errors = fieldErrors(save.error);
  const dirty = JSON.stringify(spec) !== JSON.stringify(initial);
  const set = <K extends keyof TemplateSpec>(k: K, v: TemplateSpec[K]) =>
    setSpec((s) => ({ ...s, [k]: v }));

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  function submit() {
    save.mutate(
      { spec, isNew },
      {
        onSuccess: (t) => {
          toast.success(
            t.version === version
              ? "No changes: the current version stays."
              : `Saved ${t.name} v${t.version}.`,
          );
          navigate(`/admin/library/${encodeURIComponent(t.name)}`, { replace: true });
        },
      },
    );
  }

  const errorList = Object.entries(errors);
  return (
    <div className="flex h-full flex-col">
      <div className="flex items-center gap-3 border-b border-slate-200 bg-white px-6 py-3">
        <button
          className="text-sm text-slate-500 hover:text-slate-800"
          onClick={() => navigate("/admin/library")}
        >
          ← Library
        </button>
        <h1 className="text-lg font-semibold">{isNew ? "New node" : spec.title || spec.name}</h1>
        {version != null && <Badge tone="indigo">v{version}</Badge>}
        {deleted && <Badge tone="rose">deleted</Badge>}
        {dirty && <Badge tone="amber">unsaved</Badge>}
        <div className="ml-auto flex gap-2">
          {!isNew && !deleted && (
            <Button
              variant="ghost"
              onClick={() => {
                if (
                  confirm(`Delete ${spec.name}? Workflows pinning it will report it as deleted.`)
                ) {
                  remove.mutate(spec.name, { onSuccess: () => navigate("/admin/library") });
                }
              }}
            >
              Delete
            </Button>
          )}
          <Button
            variant="primary"
            onClick={submit}
            loading={save.isPending}
            disabled={!dirty && !isNew}
          >
            {isNew ? "Create node" : "Save new version"}
          </Button>
        </div>
      </div>
      {save.error instanceof ApiError && (
        <div
          role="alert"
          className="border-b border-rose-200 bg-rose-50 px-6 py-2 text-sm text-rose-800"
          data-testid="template-errors"
        >
          {save.error.message}
          {errorList.length > 0 && (
            <ul className="mt-1 list-disc pl-5">
              {errorList.map(([f, m]) => (
                <li key={f}>
                  <code>{f}</code> {m}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div className="min-h-0 flex-1 overflow-auto">
        <div className="mx-auto max-w-6xl space-y-5 p-6">
          <div className="grid gap-3 md:grid-cols-4">
            <Field
              label="Name"
              error={errors.name}
              hint="Unique, e.g. text.upper; cannot change later."
            >
              {(id) => (
                <Input
                  id={id}
                  value={spec.name}
                  disabled={!isNew}
                  onChange={(e) => set("name", e.target.value)}
                />
              )}
            </Field>
            <Field label="Title" error={errors.title}>
              {(id) => (
                <Input id={id} value={spec.title} onChange={(e) => set("title", e.target.value)} />
              )}
            </Field>
            <Field label="Category" error={errors.category}>
              {(id) => (
                <Input
                  id={id}
                  value={spec.category ?? ""}
                  onChange={(e) => set("category", e.target.value)}
                />
              )}
            </Field>
            <Field label="Description" error={errors.description}>
              {(id) => (
                <Input
                  id={id}
                  value={spec.description ?? ""}
                  onChange={(e) => set("description", e.target.value)}
                />
              )}
            </Field>
          </div>
          <Tabs.Root defaultValue="code">
            <Tabs.List className="flex gap-1 border-b border-slate-200" aria-label="Node sections">
              {[
                ["code", "Code"],
                [
                  "ports",
                  `Inputs & outputs (${spec.inputs?.length ?? 0}/${spec.outputs?.length ?? 0})`,
                ],
                ["params", `Parameters (${spec.parameters?.length ?? 0})`],
                ["runtime", "Runtime & limits"],
                ...(isNew ? [] : [["history", "Version history"]]),
                ...(isNew || version == null || deleted ? [] : [["test", "Test node"]]),
              ].map(([v, l]) => (
                <Tabs.Trigger
                  key={v}
                  value={v!}
                  className="-mb-px border-b-2 border-transparent px-3 py-2 text-sm text-slate-600 data-[state=active]:border-indigo-600 data-[state=active]:font-medium data-[state=active]:text-indigo-700"
                >
                  {l}
                </Tabs.Trigger>
              ))}
            </Tabs.List>
            <Tabs.Content value="code" className="pt-4">
              <div className="grid gap-4 lg:grid-cols-[1fr_20rem]">
                <CodeEditor
                  label="Python code"
                  value={spec.code}
                  onChange={(v) => set("code", v)}
                />
                <ContractHelp spec={spec} />
              </div>
              {errors.code && <p className="mt-1 text-xs text-rose-600">{errors.code}</p>}
            </Tabs.Content>
            <Tabs.Content value="ports" className="grid gap-6 pt-4 md:grid-cols-2">
              <PortsEditor
                title="Inputs"
                ports={spec.inputs ?? []}
                onChange={(p) => set("inputs", p)}
                prefix="inputs"
                errors={errors}
              />
              <PortsEditor
                title="Outputs"
                ports={spec.outputs ?? []}
                onChange={(p) => set("outputs", p)}
                prefix="outputs"
                errors={errors}
              />
            </Tabs.Content>
            <Tabs.Content value="params" className="pt-4">
              <ParamsEditor
                params={spec.parameters ?? []}
                onChange={(p) => set("parameters", p)}
                errors={errors}
              />
            </Tabs.Content>
            <Tabs.Content value="runtime" className="grid max-w-3xl gap-3 pt-4 md:grid-cols-3">
              <Field label="Execution mode" hint="async runs the coroutine under asyncio.">
                {(id) => (
                  <Select
                    id={id}
                    value={spec.executionMode}
                    onChange={(e) =>
                      set("executionMode", e.target.value as TemplateSpec["executionMode"])
                    }
                  >
                    <option value="sync">sync</option>
                    <option value="async">async</option>
                  </Select>
                )}
              </Field>
              <Field label="Trust level" hint="restricted: no network, import allow-list.">
                {(id) => (
                  <Select
                    id={id}
                    value={spec.trustLevel}
                    onChange={(e) =>
                      set("trustLevel", e.target.value as TemplateSpec["trustLevel"])
                    }
                  >
                    <option value="restricted">restricted</option>
                    <option value="trusted">trusted</option>
                  </Select>
                )}
              </Field>
              <Field
                label="Container image"
                hint="Kubernetes only; empty = the node runtime image. Must be on the allow-list."
                error={errors["image"]}
              >
                {(id) => (
                  <Input
                    id={id}
                    placeholder="registry.example/nodes/pandas:1"
                    value={spec.image ?? ""}
                    onChange={(e) => set("image", e.target.value.trim() || undefined)}
                  />
                )}
              </Field>
              {(
                [
                  ["timeoutSeconds", "Timeout (s)"],
                  ["memoryMib", "Memory (MiB)"],
                  ["cpuMillicores", "CPU (millicores)"],
                ] as const
              ).map(([k, label]) => (
                <Field key={k} label={label} error={errors[`limits.${k}`]}>
                  {(id) => (
                    <Input
                      id={id}
                      type="number"
                      min={1}
                      value={spec.limits?.[k] ?? ""}
                      onChange={(e) =>
                        set("limits", { ...spec.limits!, [k]: Number(e.target.value) })
                      }
                    />
                  )}
                </Field>
              ))}
              <Field label="Attempts (retry)" error={errors["retry.maxAttempts"]}>
                {(id) => (
                  <Input
                    id={id}
                    type="number"
                    min={1}
                    value={spec.retry?.maxAttempts ?? 1}
                    onChange={(e) =>
                      set("retry", { ...spec.retry!, maxAttempts: Number(e.target.value) })
                    }
                  />
                )}
              </Field>
              <Field label="Backoff (s)" error={errors["retry.backoffSeconds"]}>
                {(id) => (
                  <Input
                    id={id}
                    type="number"
                    min={0}
                    value={spec.retry?.backoffSeconds ?? 0}
                    onChange={(e) =>
                      set("retry", { ...spec.retry!, backoffSeconds: Number(e.target.value) })
                    }
                  />
                )}
              </Field>
            </Tabs.Content>
            {!isNew && (
              <Tabs.Content value="history" className="pt-4">
                <VersionHistory name={spec.name} current={initial.code} />
              </Tabs.Content>
            )}
            {!isNew && version != null && !deleted && (
              // Kept mounted, so sample values and the last result survive a look at the code.
              <Tabs.Content value="test" forceMount className="pt-4 data-[state=inactive]:hidden">
                <TestNodePanel name={initial.name} version={version} spec={initial} dirty={dirty} />
              </Tabs.Content>
            )}
          </Tabs.Root>
        </div>
      </div>
    </div>
  );
}

function ContractHelp({ spec }: { spec: TemplateSpec }) {
  return (
    <aside
      className="space-y-3 rounded-md bg-slate-50 p-4 text-xs text-slate-700 ring-1 ring-slate-200"
      aria-label="Node contract"
    >
      <p className="font-semibold text-slate-900">Node contract</p>
      <pre className="overflow-x-auto rounded bg-white p-2 font-mono text-[11px] ring-1 ring-slate-200">{`def run(inputs, params, ctx):
    ctx.log("working", level="info")
    ctx.progress(0.5, "half way")
    return {"out_port": value}`}</pre>
      <p>
        <b>inputs</b>: {(spec.inputs ?? []).map((p) => `${p.name}: ${p.type}`).join(", ") || "none"}
      </p>
      <p>
        <b>return</b> one key per output:{" "}
        {(spec.outputs ?? []).map((p) => `${p.name}: ${p.type}`).join(", ") || "none"}
      </p>
      <p>
        <b>params</b>: {(spec.parameters ?? []).map((p) => p.name).join(", ") || "none"} (secrets
        arrive as strings and are masked in logs)
      </p>
      <p>
        <b>ctx</b>: log, progress, write_file(name, bytes|path), tmp_dir, run_id, node_id, attempt.
        Files arrive as local paths, binary as bytes.
      </p>
      <p>
        Use <code>async def run</code> with execution mode “async”.
      </p>
    </aside>
  );
}

function PortsEditor({
  title,
  ports,
  onChange,
  prefix,
  errors,
}: {
  title: string;
  ports: PortSpec[];
  onChange: (p: PortSpec[]) => void;
  prefix: string;
  errors: Record<string, string>;
}) {
  const update = (i: number, patch: Partial<PortSpec>) =>
    onChange(ports.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  return (
    <section aria-label={title}>
      <div className="mb-2 flex items-center justify-between">
        <h3 className="text-sm font-semibold">{title}</h3>
        <Button
          size="sm"
          onClick={() =>
            onChange([
              ...ports,
              {
                name: `${prefix === "inputs" ? "in" : "out"}${ports.length + 1}`,
                type: "string",
                required: prefix === "inputs",
                description: "",
              },
            ])
          }
        >
          Add {prefix === "inputs" ? "input" : "output"}
        </Button>
      </div>
      {ports.length === 0 && <p className="text-sm text-slate-500">None.</p>}
      <ul className="space-y-2">
        {ports.map((p, i) => (
          <li
            key={i}
            className="flex items-start gap-2 rounded-md bg-white p-2 ring-1 ring-slate-200"
          >
            <span
              className="mt-2.5 h-2.5 w-2.5 shrink-0 rounded-full"
              style={{ background: PORT_COLORS[p.type] }}
            />
            <div className="flex-1 space-y-1">
              <div className="flex gap-2">
                <Input
                  aria-label={`${title} ${i + 1} name`}
                  value={p.name}
                  invalid={!!errors[`${prefix}[${i}].name`]}
                  onChange={(e) => update(i, { name: e.target.value })}
                />
                <Select
                  aria-label={`${title} ${i + 1} type`}
                  className="w-28"
                  value={p.type}
                  onChange={(e) => update(i, { type: e.target.value as PortSpec["type"] })}
                >
                  {PORT_TYPES.map((t) => (
                    <option key={t}>{t}</option>
                  ))}
                </Select>
              </div>
              {prefix === "inputs" && (
                <Checkbox
                  label="required"
                  checked={!!p.required}
                  onChange={(e) => update(i, { required: e.target.checked })}
                  className="text-xs"
                />
              )}
              {errors[`${prefix}[${i}].name`] && (
                <p className="text-xs text-rose-600">{errors[`${prefix}[${i}].name`]}</p>
              )}
            </div>
            <Button
              size="sm"
              variant="ghost"
              aria-label={`Remove ${p.name}`}
              onClick={() => onChange(ports.filter((_, j) => j !== i))}
            >
              ✕
            </Button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function ParamsEditor({
  params,
  onChange,
  errors,
}: {
  params: ParamSpec[];
  onChange: (p: ParamSpec[]) => void;
  errors: Record<string, string>;
}) {
  const update = (i: number, patch: Partial<ParamSpec>) =>
    onChange(params.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  return (
    <section aria-label="Parameters" className="space-y-2">
      <div className="flex justify-end">
        <Button
          size="sm"
          onClick={() =>
            onChange([
              ...params,
              {
                name: `param${params.length + 1}`,
                label: "",
                kind: "text",
                required: false,
                help: "",
                options: [],
              } as ParamSpec,
            ])
          }
        >
          Add parameter
        </Button>
      </div>
      {params.length === 0 && <p className="text-sm text-slate-500">No parameters.</p>}
      {params.map((p, i) => {
        const err = (k: string) => errors[`parameters[${i}].${k}`];
        const hasOptions = p.kind === "select" || p.kind === "multiselect";
        return (
          <div
            key={i}
            className={cn(
              "grid gap-2 rounded-md bg-white p-3 ring-1 ring-slate-200 md:grid-cols-6",
            )}
          >
            <Field label="Name" error={err("name")}>
              {(id) => (
                <Input
                  id={id}
                  value={p.name}
                  onChange={(e) => update(i, { name: e.target.value })}
                />
              )}
            </Field>
            <Field label="Label">
              {(id) => (
                <Input
                  id={id}
                  value={p.label ?? ""}
                  onChange={(e) => update(i, { label: e.target.value })}
                />
              )}
            </Field>
            <Field label="Kind">
              {(id) => (
                <Select
                  id={id}
                  value={p.kind}
                  onChange={(e) => update(i, { kind: e.target.value as ParamSpec["kind"] })}
                >
                  {PARAM_KINDS.map((k) => (
                    <option key={k}>{k}</option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label="Default (JSON)" error={err("default")} hint='e.g. "text", 3, true'>
              {(id) => (
                <Input
                  id={id}
                  defaultValue={p.default === undefined ? "" : JSON.stringify(p.default)}
                  onBlur={(e) => {
                    const raw = e.target.value.trim();
                    if (!raw) return update(i, { default: undefined });
                    try {
                      update(i, { default: JSON.parse(raw) });
                    } catch {
                      update(i, { default: raw });
                    }
                  }}
                />
              )}
            </Field>
            {p.kind === "number" ? (
              <div className="flex gap-2">
                <Field label="Min">
                  {(id) => (
                    <Input
                      id={id}
                      type="number"
                      value={p.min ?? ""}
                      onChange={(e) =>
                        update(i, {
                          min: e.target.value === "" ? undefined : Number(e.target.value),
                        })
                      }
                    />
                  )}
                </Field>
                <Field label="Max">
                  {(id) => (
                    <Input
                      id={id}
                      type="number"
                      value={p.max ?? ""}
                      onChange={(e) =>
                        update(i, {
                          max: e.target.value === "" ? undefined : Number(e.target.value),
                        })
                      }
                    />
                  )}
                </Field>
              </div>
            ) : hasOptions ? (
              <Field label="Options" error={err("options")} hint="comma-separated">
                {(id) => (
                  <Input
                    id={id}
                    value={(p.options ?? []).join(", ")}
                    onChange={(e) =>
                      update(i, {
                        options: e.target.value
                          .split(",")
                          .map((s) => s.trim())
                          .filter(Boolean),
                      })
                    }
                  />
                )}
              </Field>
            ) : (
              <div />
            )}
            <div className="flex items-end justify-between gap-2">
              <Checkbox
                label="required"
                checked={!!p.required}
                onChange={(e) => update(i, { required: e.target.checked })}
              />
              <Button
                size="sm"
                variant="ghost"
                aria-label={`Remove parameter ${p.name}`}
                onClick={() => onChange(params.filter((_, j) => j !== i))}
              >
                ✕
              </Button>
            </div>
          </div>
        );
      })}
    </section>
  );
}

function VersionHistory({ name, current }: { name: string; current: string }) {
  const versions = useTemplateVersions(name);
  const [picked, setPicked] = useState<{ version: number; code: string; previous: string } | null>(
    null,
  );
  if (versions.isPending) return <LoadingState />;
  if (versions.isError) return <ErrorState error={versions.error} />;
  const list = [...versions.data].sort((a, b) => b.version - a.version);
  return (
    <div className="grid gap-4 md:grid-cols-[16rem_1fr]">
      <ul
        className="divide-y divide-slate-100 rounded-md bg-white ring-1 ring-slate-200"
        aria-label="Versions"
      >
        {list.map((v) => (
          <li key={v.version}>
            <button
              className={cn(
                "w-full px-3 py-2 text-left text-sm hover:bg-slate-50",
                picked?.version === v.version && "bg-indigo-50",
              )}
              onClick={async () => {
                const prev =
                  v.version > 1
                    ? await fetchTemplateVersion(name, v.version - 1).catch(() => null)
                    : null;
                setPicked({ version: v.version, code: v.code, previous: prev?.code ?? "" });
              }}
            >
              <span className="font-medium">v{v.version}</span>{" "}
              <span className="text-xs text-slate-500">{formatDateTime(v.createdAt)}</span>
            </button>
          </li>
        ))}
      </ul>
      <div>
        {picked ? (
          <>
            <p className="mb-2 text-sm text-slate-600">
              Code changes in v{picked.version}{" "}
              {picked.version > 1 ? `compared with v${picked.version - 1}` : "(first version)"}
            </p>
            <CodeDiff before={picked.previous} after={picked.code} />
          </>
        ) : (
          <>
            <p className="mb-2 text-sm text-slate-600">
              Pick a version to see what its code changed. Current code:
            </p>
            <CodeDiff before={current} after={current} />
          </>
        )}
      </div>
    </div>
  );
}
