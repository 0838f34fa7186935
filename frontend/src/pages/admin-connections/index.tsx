import { useState } from "react";
import {
  CONNECTION_KINDS,
  TLS_MODES,
  useConnections,
  useDeleteConnection,
  useSaveConnection,
  useTestConnection,
  type Connection,
  type TestResult,
} from "@/entities/connection";
import { useAllUsers } from "@/entities/user";
import { fieldErrors, type Schemas } from "@/shared/api";
import {
  Badge,
  Button,
  Checkbox,
  EmptyState,
  ErrorState,
  Field,
  Input,
  LoadingState,
  PageHeader,
  Select,
  Table,
  Td,
  Th,
  Textarea,
  toast,
} from "@/shared/ui";

type Form = {
  id?: number;
  name: string;
  kind: Schemas["ConnectionKind"];
  host: string;
  port: string;
  database: string;
  user: string;
  /** `null`: keep the stored password (the server shows only that one is set). */
  password: string | null;
  tlsMode: Schemas["TlsMode"];
  caCert: string;
  readOnly: boolean;
  clientIds: number[];
};

const blank: Form = {
  name: "",
  kind: "postgres",
  host: "",
  port: "",
  database: "",
  user: "",
  password: "",
  tlsMode: "prefer",
  caCert: "",
  readOnly: true,
  clientIds: [],
};

function formOf(c: Connection): Form {
  return {
    id: c.id,
    name: c.name,
    kind: c.kind,
    host: c.host,
    port: String(c.port),
    database: c.database,
    user: c.user,
    password: c.password.set ? null : "",
    tlsMode: c.tlsMode,
    caCert: c.caCert ?? "",
    readOnly: c.readOnly,
    clientIds: c.clientIds,
  };
}

export default function AdminConnectionsPage() {
  const list = useConnections();
  const [form, setForm] = useState<Form | null>(null);
  const [results, setResults] = useState<Record<number, TestResult>>({});
  const test = useTestConnection();
  const remove = useDeleteConnection();

  return (
    <>
      <PageHeader title="Connections">
        Databases workflows may read from and write to. Passwords are encrypted and never shown
        again.
      </PageHeader>
      <div className="mb-4 flex justify-end">
        <Button variant="primary" onClick={() => setForm({ ...blank })}>
          Add connection
        </Button>
      </div>
      {form && <ConnectionForm form={form} setForm={setForm} />}
      {list.isPending ? (
        <LoadingState />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} />
      ) : list.data.length === 0 ? (
        <EmptyState title="No connections yet" />
      ) : (
        <Table>
          <thead>
            <tr>
              <Th>Name</Th>
              <Th>Kind</Th>
              <Th>Server</Th>
              <Th>Password</Th>
              <Th>Access</Th>
              <Th>Test</Th>
              <Th />
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {list.data.map((c) => {
              const r = results[c.id];
              return (
                <tr key={c.id}>
                  <Td className="font-medium">{c.name}</Td>
                  <Td>{c.kind}</Td>
                  <Td>
                    {c.user ? `${c.user}@` : ""}
                    {c.host}:{c.port}/{c.database}
                  </Td>
                  <Td>{c.password.set ? "••••• (set)" : "none"}</Td>
                  <Td>
                    {c.readOnly ? (
                      <Badge>read-only</Badge>
                    ) : (
                      <Badge tone="indigo">read-write</Badge>
                    )}
                  </Td>
                  <Td>
                    {r && (
                      <span data-testid={`test-result-${c.name}`} title={r.message}>
                        <Badge tone={r.outcome === "ok" ? "green" : "rose"}>{r.outcome}</Badge>{" "}
                        <span className="text-xs text-slate-500">
                          {r.outcome === "ok" ? r.serverVersion?.slice(0, 40) : r.message}
                        </span>
                      </span>
                    )}
                  </Td>
                  <Td className="space-x-2 text-right">
                    <Button
                      size="sm"
                      loading={test.isPending && test.variables === c.id}
                      onClick={() =>
                        test.mutate(c.id, {
                          onSuccess: (res) => setResults((prev) => ({ ...prev, [c.id]: res })),
                        })
                      }
                    >
                      Test
                    </Button>
                    <Button size="sm" onClick={() => setForm(formOf(c))}>
                      Edit
                    </Button>
                    <Button
                      size="sm"
                      onClick={() =>
                        remove.mutate(c.id, {
                          onSuccess: () => toast.success("Connection removed"),
                        })
                      }
                    >
                      Delete
                    </Button>
                  </Td>
                </tr>
              );
            })}
          </tbody>
        </Table>
      )}
    </>
  );
}

function ConnectionForm({ form, setForm }: { form: Form; setForm: (f: Form | null) => void }) {
  const save = useSaveConnection();
  const clients = useAllUsers("client");
  const errors = fieldErrors(save.error);
  const set = (patch: Partial<Form>) => setForm({ ...form, ...patch });
  const submit = () =>
    save.mutate(
      {
        id: form.id,
        body: {
          name: form.name,
          kind: form.kind,
          host: form.host,
          port: form.port ? Number(form.port) : undefined,
          database: form.database,
          user: form.user,
          password: form.password === null ? { set: true } : form.password || null,
          tlsMode: form.tlsMode,
          caCert: form.caCert || undefined,
          readOnly: form.readOnly,
          clientIds: form.clientIds,
        },
      },
      {
        onSuccess: () => {
          toast.success("Connection saved");
          setForm(null);
        },
      },
    );
  return (
    <section
      aria-label="Connection"
      className="mb-6 rounded-lg border border-slate-200 bg-white p-5"
    >
      <div className="grid gap-4 md:grid-cols-3">
        <Field label="Name" error={errors.name}>
          {(id) => (
            <Input id={id} value={form.name} onChange={(e) => set({ name: e.target.value })} />
          )}
        </Field>
        <Field label="Kind" error={errors.kind}>
          {(id) => (
            <Select
              id={id}
              value={form.kind}
              onChange={(e) => set({ kind: e.target.value as Form["kind"] })}
            >
              {CONNECTION_KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="TLS" error={errors.tlsMode}>
          {(id) => (
            <Select
              id={id}
              value={form.tlsMode}
              onChange={(e) => set({ tlsMode: e.target.value as Form["tlsMode"] })}
            >
              {TLS_MODES.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="Host" error={errors.host}>
          {(id) => (
            <Input id={id} value={form.host} onChange={(e) => set({ host: e.target.value })} />
          )}
        </Field>
        <Field label="Port" error={errors.port} hint="Empty: the kind's default">
          {(id) => (
            <Input
              id={id}
              type="number"
              value={form.port}
              onChange={(e) => set({ port: e.target.value })}
            />
          )}
        </Field>
        <Field label="Database" error={errors.database}>
          {(id) => (
            <Input
              id={id}
              value={form.database}
              onChange={(e) => set({ database: e.target.value })}
            />
          )}
        </Field>
        <Field label="User" error={errors.user}>
          {(id) => (
            <Input id={id} value={form.user} onChange={(e) => set({ user: e.target.value })} />
          )}
        </Field>
        <Field label="Password" error={errors.password}>
          {(id) =>
            form.password === null ? (
              <div className="flex items-center gap-2 text-sm text-slate-600">
                <span>••••• (set)</span>
                <span aria-hidden>—</span>
                <button
                  type="button"
                  className="text-xs font-medium text-sky-700 underline"
                  onClick={() => set({ password: "" })}
                >
                  replace
                </button>
              </div>
            ) : (
              <Input
                id={id}
                type="password"
                autoComplete="new-password"
                value={form.password}
                onChange={(e) => set({ password: e.target.value })}
              />
            )
          }
        </Field>
        <div className="flex items-end">
          <Checkbox
            label="Read-only"
            checked={form.readOnly}
            onChange={(e) => set({ readOnly: e.target.checked })}
          />
        </div>
        <Field label="CA certificate (PEM)" error={errors.caCert} className="md:col-span-3">
          {(id) => (
            <Textarea
              id={id}
              className="h-20 font-mono text-xs"
              value={form.caCert}
              onChange={(e) => set({ caCert: e.target.value })}
            />
          )}
        </Field>
        <fieldset className="md:col-span-3">
          <legend className="text-xs font-medium text-slate-700">Clients allowed to use it</legend>
          <div className="flex flex-wrap gap-x-3 gap-y-1">
            {(clients.data?.items ?? []).map((c) => (
              <Checkbox
                key={c.id}
                label={c.displayName || c.username}
                checked={form.clientIds.includes(c.id)}
                onChange={(e) =>
                  set({
                    clientIds: e.target.checked
                      ? [...form.clientIds, c.id]
                      : form.clientIds.filter((x) => x !== c.id),
                  })
                }
              />
            ))}
          </div>
          {errors.clientIds && <p className="text-xs text-rose-600">{errors.clientIds}</p>}
        </fieldset>
      </div>
      <div className="mt-4 flex justify-end gap-2">
        <Button onClick={() => setForm(null)}>Cancel</Button>
        <Button variant="primary" loading={save.isPending} onClick={submit}>
          Save connection
        </Button>
      </div>
    </section>
  );
}
