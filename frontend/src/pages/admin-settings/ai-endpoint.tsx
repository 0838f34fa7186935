import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, errorMessage, fieldErrors, unwrap } from "@/shared/api";
import { formatDateTime } from "@/shared/lib";
import { Button, ErrorState, Field, Input, LoadingState, toast } from "@/shared/ui";
import { aiKeys } from "@/entities/ai";

const settingsKey = ["ai", "admin-settings"] as const;

/**
 * The assistant's endpoint: base URL, model and API key. The key is
 * write-only: the page shows whether one is stored, and a new one replaces
 * it; leaving the field empty keeps it. Environment variables that are set
 * win and are named.
 */
export function AiEndpointSettings() {
  const qc = useQueryClient();
  const current = useQuery({
    queryKey: settingsKey,
    queryFn: () => unwrap(api.GET("/api/admin/ai/settings")),
  });
  // Edits override the stored values until saved; before that the fields show
  // the server's values from the first frame.
  const [baseUrlEdit, setBaseUrl] = useState<string | null>(null);
  const [modelEdit, setModel] = useState<string | null>(null);
  const baseUrl = baseUrlEdit ?? current.data?.baseUrl ?? "";
  const model = modelEdit ?? current.data?.model ?? "";
  const [apiKey, setApiKey] = useState("");
  const [clearKey, setClearKey] = useState(false);
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT("/api/admin/ai/settings", {
          body: {
            baseUrl: baseUrl.trim() || null,
            model: model.trim() || null,
            apiKey: clearKey ? null : apiKey ? apiKey : { set: true },
          },
        }),
      ),
    meta: { silent: true },
    onSuccess: (data) => {
      qc.setQueryData(settingsKey, data);
      void qc.invalidateQueries({ queryKey: aiKeys.status });
      setBaseUrl(null);
      setModel(null);
      setApiKey("");
      setClearKey(false);
      toast.success(
        data.enabled ? "AI endpoint saved: the assistant is on." : "AI endpoint saved.",
      );
    },
  });
  const errors = fieldErrors(save.error);
  const other = save.error && !Object.keys(errors).length ? errorMessage(save.error) : null;
  const overridden = current.data?.overriddenByEnvironment ?? [];

  function submit(e: FormEvent) {
    e.preventDefault();
    save.mutate();
  }

  return (
    <section
      aria-labelledby="ai-endpoint"
      className="mt-6 rounded-lg border border-slate-200 bg-white p-4"
      data-testid="ai-endpoint-settings"
    >
      <h2 id="ai-endpoint" className="font-medium">
        AI endpoint
      </h2>
      <p className="mt-1 text-sm text-slate-600">
        Any OpenAI-compatible Chat Completions server: OpenAI, vLLM, llama.cpp&apos;s server or
        Ollama (e.g. <code className="font-mono text-xs">http://127.0.0.1:11434/v1</code>). The key
        is stored encrypted and never shown again.
      </p>
      {current.isPending ? (
        <LoadingState />
      ) : current.isError ? (
        <ErrorState error={current.error} onRetry={() => current.refetch()} />
      ) : (
        <form onSubmit={submit} noValidate className="mt-3 grid gap-3 md:grid-cols-2">
          {overridden.length > 0 && (
            <p className="rounded-md border border-amber-200 bg-amber-50 p-2 text-xs text-amber-900 md:col-span-2">
              Set in the server&apos;s environment, and winning over the fields here:{" "}
              {overridden.join(", ")}.
            </p>
          )}
          <Field label="Base URL" error={errors.baseUrl}>
            {(id) => (
              <Input
                id={id}
                value={baseUrl}
                placeholder="https://api.openai.com/v1"
                maxLength={500}
                invalid={!!errors.baseUrl}
                onChange={(e) => setBaseUrl(e.target.value)}
              />
            )}
          </Field>
          <Field label="Model" error={errors.model}>
            {(id) => (
              <Input
                id={id}
                value={model}
                placeholder="gpt-4o"
                maxLength={200}
                invalid={!!errors.model}
                onChange={(e) => setModel(e.target.value)}
              />
            )}
          </Field>
          <Field
            label="API key"
            error={errors.apiKey}
            hint={
              current.data.apiKey.set
                ? "A key is stored. Type a new one to replace it; leave empty to keep it."
                : "No key stored (local servers usually need none)."
            }
          >
            {(id) => (
              <Input
                id={id}
                type="password"
                autoComplete="new-password"
                value={apiKey}
                disabled={clearKey}
                invalid={!!errors.apiKey}
                onChange={(e) => setApiKey(e.target.value)}
              />
            )}
          </Field>
          <div className="flex flex-col justify-end gap-2 text-sm">
            {current.data.apiKey.set && (
              <label className="flex items-center gap-2">
                <input
                  type="checkbox"
                  checked={clearKey}
                  onChange={(e) => setClearKey(e.target.checked)}
                />
                Remove the stored key
              </label>
            )}
            <p className="text-xs text-slate-600" data-testid="ai-endpoint-state">
              {current.data.enabled
                ? `On, with model ${current.data.effectiveModel ?? ""}.`
                : "Off."}
              {current.data.updatedAt && ` Saved ${formatDateTime(current.data.updatedAt)}.`}
            </p>
          </div>
          {other && (
            <p role="alert" className="text-sm text-rose-700 md:col-span-2">
              {other}
            </p>
          )}
          <div className="flex justify-end md:col-span-2">
            <Button type="submit" variant="primary" loading={save.isPending}>
              Save AI endpoint
            </Button>
          </div>
        </form>
      )}
    </section>
  );
}
