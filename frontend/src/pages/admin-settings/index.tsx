import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { api, errorMessage, fieldErrors, unwrap } from "@/shared/api";
import { formatDateTime } from "@/shared/lib";
import {
  Badge,
  Button,
  ErrorState,
  Field,
  LoadingState,
  PageHeader,
  Table,
  Td,
  Textarea,
  Th,
  toast,
} from "@/shared/ui";
import { useAiStatus } from "@/entities/ai";
import { lineErrors, parseAllowList } from "./webhooks";
import { AiEndpointSettings } from "./ai-endpoint";
import { ClusterWorkflowSettings } from "./cluster-workflows";

const lines = (text: string) =>
  text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);

export default function AdminSettingsPage() {
  const qc = useQueryClient();
  const modules = useQuery({
    queryKey: ["settings", "modules"],
    queryFn: () => unwrap(api.GET("/api/admin/settings/modules")),
  });
  const limits = useQuery({
    queryKey: ["settings", "limits"],
    queryFn: () => unwrap(api.GET("/api/admin/settings/limits")),
  });
  // An edit overrides the stored list until it is saved; until then the field shows the
  // server's value from the first frame (never an empty list that could be saved by mistake).
  const [allowEdit, setAllow] = useState<string | null>(null);
  const [blockEdit, setBlock] = useState<string | null>(null);
  const allow = allowEdit ?? modules.data?.allow.join("\n") ?? "";
  const block = blockEdit ?? modules.data?.block.join("\n") ?? "";
  const save = useMutation({
    mutationFn: (body: { allow: string[]; block: string[] }) =>
      unwrap(api.PUT("/api/admin/settings/modules", { body })),
    onSuccess: (data) => {
      qc.setQueryData(["settings", "modules"], data);
      setAllow(null);
      setBlock(null);
      toast.success("Module lists saved. New runs use them.");
    },
  });
  const errors = fieldErrors(save.error);
  const firstError = (prefix: string) =>
    Object.entries(errors).find(([k]) => k.startsWith(prefix))?.[1];

  return (
    <>
      <PageHeader title="Settings">
        Python modules restricted nodes may import, the URLs Notification nodes may post to, and the
        limits every node is bounded by.
      </PageHeader>
      {modules.isPending ? (
        <LoadingState />
      ) : modules.isError ? (
        <ErrorState error={modules.error} onRetry={() => modules.refetch()} />
      ) : (
        <section
          className="rounded-lg border border-slate-200 bg-white p-5"
          aria-label="Module lists"
        >
          <div className="mb-4 flex items-center gap-2">
            <h2 className="font-medium">Module allow-list and block-list</h2>
            {modules.data.isDefault ? (
              <Badge>defaults</Badge>
            ) : (
              <Badge tone="indigo">customised</Badge>
            )}
            {modules.data.updatedAt && (
              <span className="text-xs text-slate-500">
                changed {formatDateTime(modules.data.updatedAt)}
              </span>
            )}
          </div>
          <div className="grid gap-4 md:grid-cols-2">
            <Field label="Allowed modules (one per line)" error={firstError("allow")}>
              {(id) => (
                <Textarea
                  id={id}
                  className="h-64 font-mono text-xs"
                  value={allow}
                  onChange={(e) => setAllow(e.target.value)}
                />
              )}
            </Field>
            <Field label="Blocked modules (one per line)" error={firstError("block")}>
              {(id) => (
                <Textarea
                  id={id}
                  className="h-64 font-mono text-xs"
                  value={block}
                  onChange={(e) => setBlock(e.target.value)}
                />
              )}
            </Field>
          </div>
          <div className="mt-4 flex justify-end gap-2">
            <Button
              onClick={() => {
                setAllow(modules.data.defaults.allow.join("\n"));
                setBlock(modules.data.defaults.block.join("\n"));
              }}
            >
              Restore defaults
            </Button>
            <Button
              variant="primary"
              loading={save.isPending}
              onClick={() => save.mutate({ allow: lines(allow), block: lines(block) })}
            >
              Save lists
            </Button>
          </div>
        </section>
      )}
      <WebhookAllowList />
      <section
        className="mt-6 rounded-lg border border-slate-200 bg-white p-5"
        aria-label="Limit maxima"
      >
        <h2 className="font-medium">Global limit maxima</h2>
        <p className="mt-1 text-sm text-slate-500">
          Set by the server's environment (KATALUSIS_MAX_TIMEOUT_SECONDS, KATALUSIS_MAX_MEMORY_MIB,
          KATALUSIS_MAX_CPU_MILLICORES); node templates cannot exceed them.
        </p>
        {limits.data && (
          <dl className="mt-3 grid grid-cols-3 gap-4 text-sm">
            <div>
              <dt className="text-slate-500">Timeout</dt>
              <dd className="text-lg font-semibold">{limits.data.timeoutSeconds} s</dd>
            </div>
            <div>
              <dt className="text-slate-500">Memory</dt>
              <dd className="text-lg font-semibold">{limits.data.memoryMib} MiB</dd>
            </div>
            <div>
              <dt className="text-slate-500">CPU</dt>
              <dd className="text-lg font-semibold">{limits.data.cpuMillicores} millicores</dd>
            </div>
          </dl>
        )}
      </section>
      <ClusterWorkflowSettings />
      <AiEndpointSettings />
      <AiUsage />
    </>
  );
}

/** Calls to the language model over the last 30 days (never their content). */
function AiUsage() {
  const status = useAiStatus();
  const usage = useQuery({
    queryKey: ["ai", "usage"],
    queryFn: () => unwrap(api.GET("/api/admin/ai/usage", { params: { query: { days: 30 } } })),
  });
  return (
    <section
      aria-labelledby="ai-usage"
      className="mt-6 rounded-lg border border-slate-200 bg-white p-4"
    >
      <h2 id="ai-usage" className="font-medium">
        AI assistant
      </h2>
      <p className="mt-1 text-sm text-slate-600">
        {status.data?.enabled
          ? `On, with model ${status.data.model}. Calls of the last 30 days (prompts and answers are never stored):`
          : "Off: set its endpoint above (or KATALUSIS_LLM_BASE_URL and KATALUSIS_LLM_MODEL) to turn it on. Calls of the last 30 days:"}
      </p>
      {usage.isPending ? (
        <LoadingState />
      ) : usage.isError ? (
        <ErrorState error={usage.error} onRetry={() => usage.refetch()} />
      ) : usage.data.rows.length === 0 ? (
        <p className="mt-2 text-sm text-slate-500">No calls.</p>
      ) : (
        <Table aria-label="AI usage" className="mt-2">
          <thead>
            <tr>
              <Th>User</Th>
              <Th>Feature</Th>
              <Th>Model</Th>
              <Th>Calls</Th>
              <Th>Failed</Th>
              <Th>Prompt tokens</Th>
              <Th>Completion tokens</Th>
              <Th>Last call</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {usage.data.rows.map((r) => (
              <tr key={`${r.userId}:${r.feature}:${r.model}`}>
                <Td>{r.username}</Td>
                <Td>{r.feature}</Td>
                <Td>{r.model}</Td>
                <Td>{r.calls}</Td>
                <Td>{r.failedCalls}</Td>
                <Td>{r.promptTokens}</Td>
                <Td>{r.completionTokens}</Td>
                <Td>{formatDateTime(r.lastAt)}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </section>
  );
}

/** The URL prefixes Notification nodes may POST to; nothing else is called. */
function WebhookAllowList() {
  const qc = useQueryClient();
  const ids = { field: useId(), help: useId(), errors: useId() };
  const current = useQuery({
    queryKey: ["settings", "webhooks"],
    queryFn: () => unwrap(api.GET("/api/admin/settings/webhooks")),
  });
  const [edit, setText] = useState<string | null>(null);
  const text = edit ?? current.data?.allowed.join("\n") ?? "";
  const [sent, setSent] = useState<{ text: string; allowed: string[] } | null>(null);
  const save = useMutation({
    mutationFn: (allowed: string[]) =>
      unwrap(api.PUT("/api/admin/settings/webhooks", { body: { allowed } })),
    // Errors show under the list, line by line.
    meta: { silent: true },
    onSuccess: (data) => {
      qc.setQueryData(["settings", "webhooks"], data);
      setText(null);
      toast.success(
        data.allowed.length
          ? `Webhook allow-list saved (${data.allowed.length} ${data.allowed.length === 1 ? "entry" : "entries"}).`
          : "Webhook allow-list saved: Notification nodes may post nowhere.",
      );
    },
  });
  const fields = fieldErrors(save.error);
  const problems = sent ? lineErrors(sent.text, sent.allowed, fields) : [];
  const otherError = save.error && !problems.length ? errorMessage(save.error) : null;
  return (
    <section
      className="mt-6 rounded-lg border border-slate-200 bg-white p-5"
      aria-labelledby={`${ids.field}-heading`}
      data-testid="webhook-settings"
    >
      <h2 id={`${ids.field}-heading`} className="font-medium">
        Notification webhooks
      </h2>
      <p id={ids.help} className="mt-1 text-sm text-slate-600">
        One URL prefix per line. A Notification node's webhook is called only when its URL has the
        same scheme, host and port as an entry and its path is the entry's path or below it (e.g.{" "}
        <code className="font-mono text-xs">https://hooks.slack.com/services/</code>). An empty list
        allows no webhook.
      </p>
      {current.isPending ? (
        <LoadingState />
      ) : current.isError ? (
        <ErrorState error={current.error} onRetry={() => current.refetch()} />
      ) : (
        <>
          <label htmlFor={ids.field} className="mt-3 block text-xs font-medium text-slate-700">
            Allowed webhook URLs (one per line)
          </label>
          <Textarea
            id={ids.field}
            className="mt-1 h-40 font-mono text-xs"
            spellCheck={false}
            aria-invalid={problems.length > 0 || undefined}
            aria-describedby={problems.length ? `${ids.help} ${ids.errors}` : ids.help}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
          {problems.length > 0 && (
            <div id={ids.errors} role="alert" data-testid="webhook-errors">
              <ul className="mt-2 space-y-1 text-xs text-rose-700">
                {problems.map((p, i) => (
                  <li key={i}>
                    {p.line ? (
                      <>
                        Line {p.line} (<code className="font-mono">{p.entry}</code>): {p.message}
                      </>
                    ) : (
                      p.message
                    )}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {otherError && (
            <p role="alert" className="mt-2 text-xs text-rose-700">
              {otherError}
            </p>
          )}
          <div className="mt-4 flex justify-end">
            <Button
              variant="primary"
              loading={save.isPending}
              onClick={() => {
                const allowed = parseAllowList(text);
                setSent({ text, allowed });
                save.mutate(allowed);
              }}
            >
              Save webhook list
            </Button>
          </div>
        </>
      )}
    </section>
  );
}
