import { useCallback, useMemo } from "react";
import { useNavigate, useParams } from "react-router";
import { useQueries, useQueryClient } from "@tanstack/react-query";
import { ErrorState, LoadingState } from "@/shared/ui";
import {
  fetchTemplateVersion,
  templateKeys,
  useTemplates,
  type Template,
} from "@/entities/template";
import { useMyClients } from "@/entities/user";
import {
  templateKey,
  useWorkflow,
  workflowKeys,
  type Graph,
  type TemplateInfo,
  type TemplateLookup,
} from "@/entities/workflow";
import { WorkflowEditor } from "@/widgets/workflow-editor";
import { RunDetails } from "@/widgets/run-view";
import { PublishControls } from "@/features/publish-run";

export default function ManagerWorkflowPage() {
  const id = Number(useParams().id);
  const workflow = useWorkflow(id);
  const templates = useTemplates();
  const clients = useMyClients();
  const navigate = useNavigate();
  const qc = useQueryClient();

  // Nodes may pin versions older than the library's latest: fetch those too.
  const pinned = useMemo(() => {
    const latest = new Map((templates.data ?? []).map((t) => [t.name, t.version]));
    const refs = new Map<string, { name: string; version: number }>();
    for (const n of (workflow.data?.graph as unknown as Graph | undefined)?.nodes ?? []) {
      if (latest.get(n.template.name) !== n.template.version)
        refs.set(templateKey(n.template), n.template);
    }
    return [...refs.values()];
  }, [workflow.data, templates.data]);
  const older = useQueries({
    queries: pinned.map((r) => ({
      queryKey: templateKeys.version(r.name, r.version),
      queryFn: () => fetchTemplateVersion(r.name, r.version),
      retry: false,
      staleTime: Infinity,
    })),
  });
  const olderReady = older.every((q) => !q.isPending);
  const olderData = older.map((q) => q.data);

  const lookup: TemplateLookup = useMemo(() => {
    const m = new Map<string, TemplateInfo>();
    for (const t of [...(templates.data ?? []), ...olderData.filter((t): t is Template => !!t)]) {
      m.set(templateKey(t), t as unknown as TemplateInfo);
    }
    return (ref) => m.get(templateKey(ref));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [templates.data, olderReady]);

  const onSaved = useCallback(() => {
    qc.invalidateQueries({ queryKey: workflowKeys.list() });
  }, [qc]);

  if (workflow.isError)
    return (
      <div className="p-6">
        <ErrorState error={workflow.error} onRetry={() => workflow.refetch()} />
      </div>
    );
  if (templates.isError)
    return (
      <div className="p-6">
        <ErrorState error={templates.error} onRetry={() => templates.refetch()} />
      </div>
    );
  if (workflow.isPending || templates.isPending || !olderReady)
    return <LoadingState label="Opening the editor…" />;
  const client = clients.data?.find((c) => c.id === workflow.data.clientId);
  return (
    <WorkflowEditor
      key={workflow.data.id}
      workflow={workflow.data}
      templates={templates.data}
      lookup={lookup}
      onSaved={onSaved}
      clientName={client?.displayName}
      onBack={() => navigate("/manager")}
      onOpenWorkflow={(copyId) => navigate(`/manager/workflows/${copyId}`)}
      runPanel={({ run, live, selected, onSelect }) => (
        <>
          <PublishControls run={run} />
          <RunDetails
            run={run}
            live={live}
            selected={selected}
            onSelect={onSelect}
            portType={(nodeId, port) => {
              const n = run.nodes.find((x) => x.id === nodeId);
              return n ? lookup(n.template)?.outputs.find((p) => p.name === port)?.type : undefined;
            }}
          />
        </>
      )}
    />
  );
}
