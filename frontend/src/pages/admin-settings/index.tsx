import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, fieldErrors, unwrap } from "@/shared/api";
import { formatDateTime } from "@/shared/lib";
import {
  Badge,
  Button,
  ErrorState,
  Field,
  LoadingState,
  PageHeader,
  Textarea,
  toast,
} from "@/shared/ui";

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
  const [allow, setAllow] = useState("");
  const [block, setBlock] = useState("");
  useEffect(() => {
    if (!modules.data) return;
    setAllow(modules.data.allow.join("\n"));
    setBlock(modules.data.block.join("\n"));
  }, [modules.data]);
  const save = useMutation({
    mutationFn: (body: { allow: string[]; block: string[] }) =>
      unwrap(api.PUT("/api/admin/settings/modules", { body })),
    onSuccess: (data) => {
      qc.setQueryData(["settings", "modules"], data);
      toast.success("Module lists saved. New runs use them.");
    },
  });
  const errors = fieldErrors(save.error);
  const firstError = (prefix: string) =>
    Object.entries(errors).find(([k]) => k.startsWith(prefix))?.[1];

  return (
    <>
      <PageHeader title="Settings">
        Python modules restricted nodes may import, and the limits every node is bounded by.
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
    </>
  );
}
