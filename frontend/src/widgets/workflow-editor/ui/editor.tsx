import { useCallback, useMemo, useRef, useState } from "react";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { cn, downloadText } from "@/shared/lib";
import { Button, toast } from "@/shared/ui";
import type { Template } from "@/entities/template";
import {
  ManagedBadge,
  copyWorkflow,
  isEditable,
  manifestFileProblem,
  renderManifest,
  type DraftManifest,
  type Graph,
  type GraphNode,
  type ParsedWorkflow,
  type TemplateLookup,
  type Workflow,
} from "@/entities/workflow";
import { CancelRunButton } from "@/features/cancel-run";
import { RestoreRevision } from "@/features/restore-revision";
import { SaveButton, SaveConflictDialog, useSaveWorkflow } from "@/features/save-workflow";
import { RunButtons, useSubmitRun, type StartedRun } from "@/features/submit-run";
import { SaveAsTemplateDialog } from "@/features/save-as-template";
import { WebhookSecretDialog } from "@/entities/trigger";
import { useAiEnabled } from "@/entities/ai";
import {
  AskAiBar,
  ProposalDiff,
  acceptedGraph,
  type Proposal,
} from "@/features/ai-generate-workflow";
import { EditorContext, useEditorContext } from "../model/context";
import { createEditorStore } from "../model/editor-store";
import { useActiveRun } from "../model/use-active-run";
import { useEditorCommands } from "../model/use-editor-commands";
import { graphOf, useEditorDocument } from "../model/use-editor-document";
import { isSameGraph, useYamlDraft } from "../model/use-yaml-draft";
import { describeMistake } from "../model/yaml-outcome";
import { BottomPanel, type BottomTab, type RunPanel } from "./bottom-panel";
import { Canvas } from "./canvas";
import { Inspector } from "./inspector";
import { LeaveGuard } from "./leave-guard";
import { Palette } from "./palette";
import { Toolbar } from "./toolbar";
import { TriggersSide } from "./triggers-side";
import { ManagedNotice, ViewStrip, type EditorView } from "./view-strip";
import { YamlPanel } from "./yaml-panel";

export interface WorkflowEditorProps {
  workflow: Workflow;
  templates: Template[];
  lookup: TemplateLookup;
  onSaved: (w: Workflow) => void;
  clientName?: string;
  onBack: () => void;
  /** Renders a run's details (the page composes the run-view widget here). */
  runPanel?: RunPanel;
  /** Opens another workflow (the UI-managed copy of a cluster-managed one). */
  onOpenWorkflow?: (id: number) => void;
}

/** The graph editor: palette, canvas, inspector, problems, with save/undo/history. */
export function WorkflowEditor(props: WorkflowEditorProps) {
  const [store] = useState(() => {
    const s = createEditorStore();
    s.getState().load(graphOf(props.workflow));
    return s;
  });
  const ctx = useMemo(() => ({ store, lookup: props.lookup }), [store, props.lookup]);
  return (
    <EditorContext.Provider value={ctx}>
      <ReactFlowProvider>
        <EditorFrame {...props} />
      </ReactFlowProvider>
    </EditorContext.Provider>
  );
}

function EditorFrame({
  workflow: initial,
  templates,
  lookup,
  onSaved,
  clientName,
  onBack,
  runPanel,
  onOpenWorkflow,
}: WorkflowEditorProps) {
  const { store } = useEditorContext();
  const doc = useEditorDocument(initial, lookup, onSaved);
  const { base, name, description, setName, setDescription, isDirtyNow } = doc;
  const editable = isEditable(base);
  const saver = useSaveWorkflow({
    workflow: base,
    name,
    description,
    snapshot: doc.snapshot,
    onSaved: doc.adoptSaved,
    onReloaded: doc.adoptLatest,
  });
  const { save } = saver;
  const [bottomTab, setBottomTab] = useState<BottomTab>("problems");
  const [side, setSide] = useState<"inspector" | "triggers">("inspector");
  const [savingTemplate, setSavingTemplate] = useState(false);
  const activeRun = useActiveRun();
  const { open: openRun } = activeRun;
  const { starting, submit } = useSubmitRun({
    workflowId: base.id,
    currentProblems: doc.currentProblems,
    onBlocked: useCallback(() => setBottomTab("problems"), []),
    saveIfDirty: useCallback(async () => {
      if (isDirtyNow()) await save();
    }, [isDirtyNow, save]),
    onStarted: useCallback(
      (run: StartedRun) => {
        openRun(run.id);
        setBottomTab("run");
      },
      [openRun],
    ),
  });
  const runCommand = useEditorCommands(
    useCallback(() => void (editable && save()), [editable, save]),
    !editable,
  );
  const [refusal, onRefused] = useTransientMessage(4000);
  const aiEnabled = useAiEnabled();
  const { fitView } = useReactFlow();
  const [askOpen, setAskOpen] = useState(false);
  const [proposal, setProposal] = useState<{ proposal: Proposal; base: Graph } | null>(null);
  const draft = useCallback((): Graph => {
    const s = store.getState();
    return { nodes: s.nodes, edges: s.edges };
  }, [store]);

  const [view, setView] = useState<EditorView>("canvas");
  const draftManifest = useCallback(
    (): DraftManifest => ({
      workflowId: base.id,
      clientId: base.clientId,
      name,
      description,
      graph: draft(),
    }),
    [base.id, base.clientId, name, description, draft],
  );
  const onParsed = useCallback(
    (w: ParsedWorkflow) => {
      if (!isSameGraph(draft(), w.graph)) store.getState().replace(w.graph);
      setName(w.name);
      setDescription(w.description);
    },
    [draft, store, setName, setDescription],
  );
  const yaml = useYamlDraft({ draft: draftManifest, onParsed, clientName });
  const { render: renderYaml, flush: flushYaml, load: loadYaml } = yaml;
  const switchView = useCallback(
    async (v: EditorView) => {
      if (v === view) return;
      if (v === "yaml") {
        void renderYaml();
      } else if (!(await flushYaml())) {
        toast.info("The YAML has a mistake, so the canvas shows the last version that parsed.");
      }
      setView(v);
    },
    [view, renderYaml, flushYaml],
  );
  const downloadYaml = useCallback(async () => {
    try {
      const m = await renderManifest(draftManifest());
      downloadText(`${m.name}.yaml`, m.yaml, "application/yaml");
    } catch (e) {
      toast.error(e);
    }
  }, [draftManifest]);
  const uploadYaml = useCallback(
    async (file: File) => {
      try {
        const text = await file.text();
        const refused = manifestFileProblem(file.size, text);
        const outcome = refused ? null : await loadYaml(text);
        if (outcome?.kind === "apply") {
          toast.info(`Loaded ${file.name} into the draft. Save to keep it.`);
          return;
        }
        const why = refused ?? (outcome ? describeMistake(outcome.mistake) : "");
        toast.error(
          new Error(`${file.name} is not a Workflow manifest this editor can load. ${why}`),
        );
      } catch (e) {
        toast.error(e);
      }
    },
    [loadYaml],
  );
  const [copying, setCopying] = useState(false);
  const copyToUi = useCallback(async () => {
    setCopying(true);
    try {
      const copy = await copyWorkflow(base.id);
      toast.success(`Copied to “${copy.name}”, which you can edit here.`);
      onOpenWorkflow?.(copy.id);
    } catch (e) {
      toast.error(e);
    } finally {
      setCopying(false);
    }
  }, [base.id, onOpenWorkflow]);

  const addFromPalette = useCallback(
    (t: Template) => {
      const n = store.getState().nodes;
      const maxX = n.reduce((m, x: GraphNode) => Math.max(m, x.position.x), -260);
      store.getState().addNode({ name: t.name, version: t.version }, { x: maxX + 280, y: 80 });
    },
    [store],
  );

  const errors = doc.problems.filter((p) => p.severity === "error").length;
  return (
    <div className="flex h-full flex-col">
      <Toolbar
        name={name}
        clientName={clientName}
        revision={base.revision}
        dirty={doc.dirty}
        errors={errors}
        onBack={onBack}
        runCommand={runCommand}
        badges={<ManagedBadge workflow={base} />}
        readOnly={!editable}
      >
        {activeRun.id != null && activeRun.status && (
          <CancelRunButton runId={activeRun.id} status={activeRun.status} />
        )}
        <Button
          size="sm"
          aria-pressed={side === "triggers"}
          className={cn(
            "whitespace-nowrap",
            side === "triggers" && "!bg-indigo-50 !text-indigo-800 !ring-indigo-400",
          )}
          onClick={() => setSide((p) => (p === "triggers" ? "inspector" : "triggers"))}
          title="Schedules, webhooks and events that start this workflow"
        >
          Triggers
        </Button>
        <Button size="sm" className="whitespace-nowrap" onClick={() => setSavingTemplate(true)}>
          Save as template
        </Button>
        {aiEnabled && editable && (
          <Button
            size="sm"
            aria-pressed={askOpen}
            className={cn(
              "whitespace-nowrap",
              askOpen && "!bg-violet-50 !text-violet-800 !ring-violet-400",
            )}
            onClick={() => setAskOpen((o) => !o)}
            title="Describe a change in words; the assistant proposes it as a diff"
          >
            Ask AI
          </Button>
        )}
        <span className="mx-1 h-5 w-px bg-slate-200" />
        <RunButtons starting={starting} onRun={submit} />
        <span className="mx-1 h-5 w-px bg-slate-200" />
        <RestoreRevision
          workflowId={base.id}
          clientId={base.clientId}
          current={base.revision}
          lookup={lookup}
          onRestore={editable ? (g) => store.getState().replace(g) : undefined}
        />
        <SaveButton dirty={doc.dirty && editable} saving={saver.saving} onSave={() => save()} />
      </Toolbar>
      {!editable && (
        <ManagedNotice
          where={[base.resourceNamespace, base.resourceName].filter(Boolean).join("/")}
          copying={copying}
          onCopy={() => void copyToUi()}
        />
      )}
      <div className="flex min-h-0 flex-1">
        {editable && <Palette templates={templates} onAdd={addFromPalette} />}
        <div className="relative flex min-w-0 flex-1 flex-col">
          {aiEnabled && askOpen && (
            <AskAiBar
              clientId={base.clientId}
              current={draft}
              onProposal={(p) => setProposal({ proposal: p, base: draft() })}
              onClose={() => setAskOpen(false)}
            />
          )}
          <div className="relative flex min-h-0 flex-1 flex-col">
            <ViewStrip
              view={view}
              onView={(v) => void switchView(v)}
              onDownload={() => void downloadYaml()}
              onUpload={(f) => void uploadYaml(f)}
              canUpload={editable}
              floating={view === "canvas"}
            />
            {view === "yaml" ? (
              <YamlPanel
                text={yaml.text}
                mistake={yaml.mistake}
                problems={yaml.problems}
                busy={yaml.busy}
                readOnly={!editable}
                onEdit={yaml.edit}
              />
            ) : (
              <Canvas
                problems={doc.problems}
                onRefused={onRefused}
                runNodes={bottomTab === "run" ? (activeRun.live?.nodes ?? null) : null}
                readOnly={!editable}
              />
            )}
            {refusal && (
              <div
                role="alert"
                data-testid="connection-refused"
                className="absolute left-1/2 top-3 z-10 -translate-x-1/2 rounded-md bg-slate-900 px-3 py-1.5 text-xs text-white shadow-lg"
              >
                Connection refused: {refusal}
              </div>
            )}
            <BottomPanel
              tab={bottomTab}
              onTab={setBottomTab}
              problems={doc.problems}
              problemsSource={doc.problemsSource}
              activeRun={activeRun}
              runPanel={runPanel}
              workflowId={base.id}
              onRerun={() => submit("async")}
            />
            {proposal && (
              <ProposalDiff
                current={proposal.base}
                proposal={proposal.proposal}
                lookup={lookup}
                onDiscard={() => setProposal(null)}
                onAccept={() => {
                  store.getState().replace(acceptedGraph(proposal.base, proposal.proposal.graph));
                  setProposal(null);
                  setAskOpen(false);
                  // Show the whole accepted graph, new nodes included.
                  requestAnimationFrame(
                    () => void fitView({ duration: 300, padding: 0.15, maxZoom: 1 }),
                  );
                }}
              />
            )}
          </div>
        </div>
        {side === "triggers" ? (
          <TriggersSide
            workflowId={base.id}
            clientId={base.clientId}
            unsaved={doc.dirty}
            onOpenRun={(id) => {
              openRun(id);
              setBottomTab("run");
            }}
            onClose={() => setSide("inspector")}
          />
        ) : (
          <Inspector
            problems={doc.problems}
            workflowName={name}
            onRename={doc.setName}
            saved={base}
            openRun={activeRun.run}
            readOnly={!editable}
          />
        )}
      </div>
      {savingTemplate && (
        <SaveAsTemplateDialog
          workflowId={base.id}
          workflowName={name}
          unsaved={doc.dirty}
          onClose={() => setSavingTemplate(false)}
        />
      )}
      <WebhookSecretDialog />

      <SaveConflictDialog
        conflict={saver.conflict}
        editingRevision={base.revision}
        saving={saver.saving}
        onKeepEditing={saver.dismissConflict}
        onReload={saver.reload}
        onOverwrite={(revision) => save(revision)}
      />
      <LeaveGuard dirty={doc.dirty} />
    </div>
  );
}

/** A message that clears itself after `ms`; a new one restarts the clock. */
function useTransientMessage(ms: number) {
  const [message, setMessage] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const show = useCallback(
    (text: string) => {
      setMessage(text);
      clearTimeout(timer.current);
      timer.current = setTimeout(() => setMessage(null), ms);
    },
    [ms],
  );
  return [message, show] as const;
}
