import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useBlocker } from "react-router";
import { useStore } from "zustand";
import { ApiError, type Schemas } from "@/shared/api";
import { cn, formatDateTime, isMac, isTypingTarget, modKeyLabel, useDebounced } from "@/shared/lib";
import { Badge, Button, Dialog, Kbd, LoadingState, toast } from "@/shared/ui";
import { TimeChart } from "@/shared/chart";
import type { Template } from "@/entities/template";
import {
  createEditorStore,
  fetchRevision,
  fetchWorkflow,
  isClipboard,
  saveWorkflow,
  useRevisions,
  validateGraph,
  type Graph,
  type GraphNode,
  type Problem,
  type TemplateLookup,
  type Workflow,
} from "@/entities/workflow";
import {
  cancelRun,
  isFinal,
  runKeys,
  startRun,
  useRun,
  useRunEvents,
  useRuns,
  runDurationSeries,
  RunStatusBadge,
  STATUS_COLORS,
  type LiveRun,
  type Run,
} from "@/entities/run";
import { EditorContext, useEditor, useEditorContext } from "../model/context";
import { autoLayout } from "../model/layout";
import { commandFor } from "../model/shortcuts";
import { Canvas, useFocusNode, useMeasuredSize } from "./canvas";
import { Inspector } from "./inspector";
import { Palette } from "./palette";
import { ProblemsPanel } from "./problems-panel";

const CLIPBOARD_KEY = "katalusis.clipboard";

function graphOf(w: Workflow): Graph {
  return w.graph as unknown as Graph;
}

export interface WorkflowEditorProps {
  workflow: Workflow;
  templates: Template[];
  lookup: TemplateLookup;
  onSaved: (w: Workflow) => void;
  clientName?: string;
  onBack: () => void;
  /** Renders a run's details (the page composes the run-view widget here). */
  runPanel?: (args: {
    run: Run;
    live: LiveRun | null;
    selected: string | null;
    onSelect: (node: string) => void;
  }) => ReactNode;
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
}: WorkflowEditorProps) {
  const { store } = useEditorContext();
  const [base, setBase] = useState<Workflow>(initial);
  const [name, setName] = useState(initial.name);
  const [serverProblems, setServerProblems] = useState<Problem[] | null>(
    (initial.problems as Problem[]) ?? null,
  );
  const [saving, setSaving] = useState(false);
  const [conflict, setConflict] = useState<{ currentRevision: number } | null>(null);
  const [historyOpen, setHistoryOpen] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [bottomTab, setBottomTab] = useState<"problems" | "run" | "runs">("problems");
  const [activeRunId, setActiveRunId] = useState<number | null>(null);
  const [starting, setStarting] = useState<"async" | "sync" | null>(null);
  const qc = useQueryClient();
  const activeRun = useRun(activeRunId);
  const live = useRunEvents(activeRun.data);
  const liveStatus = live?.status;
  // When the run ends, reload it for the outputs and refresh the history.
  useEffect(() => {
    if (activeRunId != null && isFinal(liveStatus)) {
      qc.invalidateQueries({ queryKey: runKeys.one(activeRunId) });
      qc.invalidateQueries({ queryKey: ["runs", "list"] });
    }
  }, [liveStatus, activeRunId, qc]);
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const selectedRunNode = selectedNodes.size === 1 ? [...selectedNodes][0]! : null;
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const dirty = useStore(store, (s) => s.version !== s.savedVersion) || name !== base.name;
  const canUndo = useEditor((s) => s.past.length > 0);
  const canRedo = useEditor((s) => s.future.length > 0);
  const { fitView } = useReactFlow();
  const focusNode = useFocusNode();
  const sizeOf = useMeasuredSize();
  const refusalTimer = useRef<ReturnType<typeof setTimeout>>(undefined);

  // Client-side validation runs shortly after each edit; positions do not matter to it.
  const structure = useDebounced(
    useMemo(() => ({ nodes, edges }), [nodes, edges]),
    120,
  );
  const clientProblems = useMemo(() => validateGraph(structure, lookup), [structure, lookup]);
  const version = useEditor((s) => s.version);
  const savedVersion = useRef(version);
  // Server problems describe the saved graph; once edited, the client's view takes over.
  const problems =
    serverProblems && version === savedVersion.current ? serverProblems : clientProblems;

  const onRefused = useCallback((reason: string) => {
    setRefusal(reason);
    clearTimeout(refusalTimer.current);
    refusalTimer.current = setTimeout(() => setRefusal(null), 4000);
  }, []);

  const save = useCallback(
    async (overwriteRevision?: number) => {
      setSaving(true);
      const s = store.getState();
      const graph: Graph = { nodes: s.nodes, edges: s.edges };
      const versionAtSave = s.version;
      try {
        const saved = await saveWorkflow(base.id, {
          revision: overwriteRevision ?? base.revision,
          name,
          description: base.description,
          graph,
        });
        setBase(saved);
        if (store.getState().version === versionAtSave) store.getState().markSaved();
        savedVersion.current = versionAtSave;
        setServerProblems((saved.problems as Problem[]) ?? []);
        setConflict(null);
        onSaved(saved);
        const errs = (saved.problems ?? []).filter((p) => p.severity === "error").length;
        toast.success(
          `Saved revision ${saved.revision}${errs ? ` with ${errs} problem${errs === 1 ? "" : "s"}` : ""}.`,
        );
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) {
          const current = (e.details as { currentRevision?: number } | undefined)?.currentRevision;
          setConflict({ currentRevision: current ?? base.revision + 1 });
        } else toast.error(e);
      } finally {
        setSaving(false);
      }
    },
    [store, base, name, onSaved],
  );

  const reloadTheirs = useCallback(async () => {
    try {
      const w = await fetchWorkflow(base.id);
      store.getState().load(graphOf(w));
      savedVersion.current = store.getState().version;
      setBase(w);
      setName(w.name);
      setServerProblems((w.problems as Problem[]) ?? []);
      setConflict(null);
      toast.info(`Loaded revision ${w.revision}. Your changes were discarded.`);
    } catch (e) {
      toast.error(e);
    }
  }, [base.id, store]);

  const play = useCallback(
    async (mode: "async" | "sync") => {
      const now = store.getState();
      if (
        validateGraph({ nodes: now.nodes, edges: now.edges }, lookup).some(
          (p) => p.severity === "error",
        )
      ) {
        toast.error(new Error("Fix the problems listed below before running this workflow."));
        setBottomTab("problems");
        return;
      }
      setStarting(mode);
      try {
        // A run uses the saved revision, so unsaved edits are saved first.
        if (store.getState().version !== store.getState().savedVersion || name !== base.name)
          await save();
        const started = await startRun(base.id, mode);
        setActiveRunId(started.id);
        setBottomTab("run");
        qc.invalidateQueries({ queryKey: ["runs", "list"] });
        if (mode === "sync") toast.info(`Test run #${started.id} ${started.status}.`);
      } catch (e) {
        toast.error(e);
      } finally {
        setStarting(null);
      }
    },
    [store, name, base, save, qc, lookup],
  );

  const cancel = useCallback(async () => {
    if (activeRunId == null) return;
    try {
      await cancelRun(activeRunId);
      toast.info(`Cancelling run #${activeRunId}…`);
    } catch (e) {
      toast.error(e);
    }
  }, [activeRunId]);

  const layout = useCallback(async () => {
    const s = store.getState();
    const positions = await autoLayout(s.nodes, s.edges, sizeOf);
    store.getState().setPositions(positions);
    requestAnimationFrame(() => fitView({ duration: 300, padding: 0.15, maxZoom: 1 }));
  }, [store, sizeOf, fitView]);

  const runCommand = useCallback(
    (cmd: NonNullable<ReturnType<typeof commandFor>>) => {
      const s = store.getState();
      switch (cmd) {
        case "undo":
          return s.undo();
        case "redo":
          return s.redo();
        case "selectAll":
          return s.selectAll();
        case "delete":
          return s.removeSelected();
        case "duplicate":
          return void s.duplicate();
        case "escape":
          return s.select([]);
        case "save":
          return void save();
        case "copy": {
          const clip = s.copy();
          if (!clip) return;
          const text = JSON.stringify(clip);
          localStorage.setItem(CLIPBOARD_KEY, text);
          navigator.clipboard?.writeText(text).catch(() => {});
          return toast.info(
            `Copied ${clip.nodes.length} node${clip.nodes.length === 1 ? "" : "s"}.`,
          );
        }
        case "paste": {
          // The local copy works across workflows and tabs without clipboard permission.
          const raw = localStorage.getItem(CLIPBOARD_KEY);
          if (!raw) return;
          try {
            const clip: unknown = JSON.parse(raw);
            if (isClipboard(clip)) s.paste(clip);
          } catch {
            /* not ours */
          }
          return;
        }
      }
    },
    [store, save],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTypingTarget(e.target) || document.querySelector("[role=dialog]")) return;
      const cmd = commandFor(e, isMac);
      if (!cmd) return;
      e.preventDefault();
      runCommand(cmd);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [runCommand]);

  // Unsaved-changes guard: in-app navigation asks, closing the tab warns.
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      dirty && currentLocation.pathname !== nextLocation.pathname,
  );
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const pick = useCallback(
    (p: Problem) => {
      const nodeId = p.nodeId ?? p.nodes?.[0];
      if (p.edgeId && !p.nodeId) store.getState().select([], [p.edgeId]);
      else if (nodeId) {
        store.getState().select([nodeId], p.edgeId ? [p.edgeId] : []);
        focusNode(nodeId);
      }
    },
    [store, focusNode],
  );

  const addFromPalette = useCallback(
    (t: Template) => {
      const n = store.getState().nodes;
      const maxX = n.reduce((m, x: GraphNode) => Math.max(m, x.position.x), -260);
      store.getState().addNode({ name: t.name, version: t.version }, { x: maxX + 280, y: 80 });
    },
    [store],
  );

  const errors = problems.filter((p) => p.severity === "error").length;
  return (
    <div className="flex h-full flex-col">
      <div className="flex h-12 shrink-0 items-center gap-2 border-b border-slate-200 bg-white px-3">
        <button
          onClick={onBack}
          className="rounded px-1.5 py-1 text-sm text-slate-500 hover:bg-slate-100 hover:text-slate-800"
        >
          ←
        </button>
        <div className="min-w-0">
          <h1 className="truncate text-sm font-semibold" data-testid="workflow-title">
            {name}
          </h1>
          <p className="text-[11px] text-slate-500">
            {clientName ? `${clientName} · ` : ""}revision {base.revision}
          </p>
        </div>
        {dirty ? <Badge tone="amber">unsaved changes</Badge> : <Badge tone="green">saved</Badge>}
        {errors > 0 ? (
          <Badge tone="rose">{errors} problems</Badge>
        ) : (
          <Badge tone="green">valid</Badge>
        )}
        <div className="ml-4 flex items-center gap-1">
          <ToolButton
            label={`Undo (${modKeyLabel}+Z)`}
            onClick={() => runCommand("undo")}
            disabled={!canUndo}
          >
            ↶
          </ToolButton>
          <ToolButton
            label={`Redo (${isMac ? "⇧⌘Z" : "Ctrl+Y"})`}
            onClick={() => runCommand("redo")}
            disabled={!canRedo}
          >
            ↷
          </ToolButton>
          <span className="mx-1 h-5 w-px bg-slate-200" />
          <ToolButton label="Auto-layout" onClick={layout}>
            Layout
          </ToolButton>
          <ToolButton
            label="Fit view"
            onClick={() => fitView({ duration: 300, padding: 0.15, maxZoom: 1 })}
          >
            Fit
          </ToolButton>
          <ToolButton
            label={`Duplicate selection (${modKeyLabel}+D)`}
            onClick={() => runCommand("duplicate")}
          >
            Duplicate
          </ToolButton>
          <ToolButton label="Delete selection (Delete)" onClick={() => runCommand("delete")}>
            Delete
          </ToolButton>
        </div>
        <div className="ml-auto flex items-center gap-2">
          <span className="hidden text-[11px] text-slate-400 xl:inline">
            <Kbd>Shift</Kbd>+drag box-select · <Kbd>{modKeyLabel}</Kbd>+<Kbd>C</Kbd>/<Kbd>V</Kbd>{" "}
            copy/paste
          </span>
          {activeRun.data && !isFinal(liveStatus ?? activeRun.data.status) ? (
            <Button size="sm" variant="danger" onClick={cancel}>
              Cancel run
            </Button>
          ) : null}
          <Button
            size="sm"
            onClick={() => play("sync")}
            loading={starting === "sync"}
            title="Run and wait for the result"
          >
            Test run
          </Button>
          <Button
            size="sm"
            variant="primary"
            onClick={() => play("async")}
            loading={starting === "async"}
            title="Start a run in the background"
          >
            ▶ Run
          </Button>
          <span className="mx-1 h-5 w-px bg-slate-200" />
          <Button size="sm" onClick={() => setHistoryOpen(true)}>
            History
          </Button>
          <Button
            size="sm"
            variant="primary"
            onClick={() => save()}
            loading={saving}
            disabled={!dirty && !saving}
            title={`Save (${modKeyLabel}+S)`}
          >
            Save
          </Button>
        </div>
      </div>
      <div className="flex min-h-0 flex-1">
        <Palette templates={templates} onAdd={addFromPalette} />
        <div className="relative flex min-w-0 flex-1 flex-col">
          <Canvas
            problems={problems}
            onRefused={onRefused}
            runNodes={bottomTab === "run" ? (live?.nodes ?? null) : null}
          />
          {refusal && (
            <div
              role="alert"
              data-testid="connection-refused"
              className="absolute left-1/2 top-3 z-10 -translate-x-1/2 rounded-md bg-slate-900 px-3 py-1.5 text-xs text-white shadow-lg"
            >
              Connection refused: {refusal}
            </div>
          )}
          <div
            className="flex shrink-0 gap-1 border-t border-slate-200 bg-slate-50 px-2 text-xs"
            role="tablist"
            aria-label="Bottom panel"
          >
            {(
              [
                ["problems", `Problems (${errors})`],
                ["run", activeRunId ? `Run #${activeRunId}` : "Run"],
                ["runs", "Runs"],
              ] as const
            ).map(([t, label]) => (
              <button
                key={t}
                role="tab"
                aria-selected={bottomTab === t}
                onClick={() => setBottomTab(t)}
                className={cn(
                  "border-b-2 px-2 py-1.5",
                  bottomTab === t
                    ? "border-indigo-600 font-medium text-indigo-700"
                    : "border-transparent text-slate-500",
                )}
              >
                {label}
                {t === "run" && activeRun.data && (
                  <span className="ml-1.5" data-testid="active-run-status">
                    <RunStatusBadge status={liveStatus ?? activeRun.data.status} />
                  </span>
                )}
              </button>
            ))}
          </div>
          {bottomTab === "problems" ? (
            <ProblemsPanel
              problems={problems}
              onPick={pick}
              source={problems === serverProblems ? "server" : "client"}
            />
          ) : bottomTab === "run" ? (
            <section className="flex h-72 shrink-0 flex-col bg-white" aria-label="Run">
              {!activeRunId ? (
                <p className="p-4 text-sm text-slate-500">
                  Press Run to execute this workflow; its nodes light up here live.
                </p>
              ) : !activeRun.data ? (
                <LoadingState />
              ) : (
                runPanel?.({
                  run: activeRun.data,
                  live,
                  selected: selectedRunNode,
                  onSelect: (id) => {
                    store.getState().select([id]);
                    focusNode(id);
                  },
                })
              )}
            </section>
          ) : (
            <RunHistory
              workflowId={base.id}
              activeRunId={activeRunId}
              onOpen={(id) => {
                setActiveRunId(id);
                setBottomTab("run");
              }}
              onRerun={() => play("async")}
            />
          )}
        </div>
        <Inspector problems={problems} workflowName={name} onRename={setName} />
      </div>

      <Dialog
        open={!!conflict}
        onOpenChange={(o) => !o && setConflict(null)}
        title="This workflow changed elsewhere"
        description={`Someone saved revision ${conflict?.currentRevision ?? "?"} while you were editing revision ${base.revision}. Nothing was overwritten.`}
        footer={
          <>
            <Button onClick={() => setConflict(null)}>Keep editing</Button>
            <Button onClick={reloadTheirs}>Reload their version</Button>
            <Button
              variant="danger"
              onClick={() => save(conflict!.currentRevision)}
              loading={saving}
            >
              Overwrite with mine
            </Button>
          </>
        }
      >
        <p className="text-sm text-slate-600">
          Reload to continue from the latest revision (your unsaved changes are discarded), or
          overwrite it with your version (theirs stays in the revision history).
        </p>
      </Dialog>

      {historyOpen && (
        <HistoryDialog
          workflowId={base.id}
          current={base.revision}
          onClose={() => setHistoryOpen(false)}
          onRestore={(g, rev) => {
            store.getState().replace(g);
            setHistoryOpen(false);
            toast.info(`Restored revision ${rev} into the editor. Save to keep it.`);
          }}
        />
      )}

      <Dialog
        open={blocker.state === "blocked"}
        onOpenChange={(o) => !o && blocker.reset?.()}
        title="Leave without saving?"
        description="Your changes to this workflow are not saved."
        footer={
          <>
            <Button onClick={() => blocker.reset?.()}>Stay</Button>
            <Button variant="danger" onClick={() => blocker.proceed?.()}>
              Discard changes
            </Button>
          </>
        }
      />
    </div>
  );
}

function RunHistory({
  workflowId,
  activeRunId,
  onOpen,
  onRerun,
}: {
  workflowId: number;
  activeRunId: number | null;
  onOpen: (id: number) => void;
  onRerun: () => void;
}) {
  const runs = useRuns({ workflowId, perPage: 50 }, { refetchInterval: 5000 });
  const durations = useMemo(() => runDurationSeries(runs.data?.items ?? []), [runs.data]);
  return (
    <section className="flex h-72 shrink-0 flex-col bg-white" aria-label="Runs of this workflow">
      <div className="flex items-center justify-between border-b border-slate-100 px-3 py-1.5 text-xs">
        <span className="font-semibold text-slate-700">Run history</span>
        <Button size="sm" onClick={onRerun}>
          Re-run latest revision
        </Button>
      </div>
      <div className="flex min-h-0 flex-1">
        <ul className="min-h-0 flex-1 divide-y divide-slate-100 overflow-auto text-xs">
          {runs.isPending && <LoadingState />}
          {runs.data?.items.length === 0 && (
            <li className="px-3 py-2 text-slate-500">No runs yet.</li>
          )}
          {runs.data?.items.map((r) => (
            <li key={r.id}>
              <button
                onClick={() => onOpen(r.id)}
                className={cn(
                  "flex w-full items-center gap-3 px-3 py-1.5 text-left hover:bg-slate-50",
                  r.id === activeRunId && "bg-indigo-50",
                )}
              >
                <span className="font-mono">#{r.id}</span>
                <RunStatusBadge status={r.status} />
                <span className="text-slate-500">revision {r.workflowRevision}</span>
                <span className="text-slate-400">{formatDateTime(r.createdAt)}</span>
                {r.published && <span className="text-emerald-600">published</span>}
                <span className="ml-auto text-slate-400">{r.message}</span>
              </button>
            </li>
          ))}
        </ul>
        {durations.x.length > 1 && (
          <figure
            className="hidden w-96 shrink-0 border-l border-slate-100 p-2 lg:block"
            data-testid="run-durations-chart"
          >
            <figcaption className="text-xs font-medium text-slate-600">Run durations</figcaption>
            <TimeChart
              label="Run durations"
              x={durations.x}
              height={170}
              series={[
                {
                  label: "succeeded",
                  color: STATUS_COLORS.succeeded!,
                  values: durations.succeeded,
                },
                {
                  label: "failed or cancelled",
                  color: STATUS_COLORS.failed!,
                  values: durations.other,
                },
              ]}
            />
          </figure>
        )}
      </div>
    </section>
  );
}

function ToolButton({
  label,
  children,
  onClick,
  disabled,
}: {
  label: string;
  children: React.ReactNode;
  onClick: () => void;
  disabled?: boolean;
}) {
  return (
    <button
      type="button"
      aria-label={label}
      title={label}
      onClick={onClick}
      disabled={disabled}
      className={cn(
        "rounded px-2 py-1 text-xs font-medium text-slate-600 hover:bg-slate-100 disabled:opacity-40",
      )}
    >
      {children}
    </button>
  );
}

function HistoryDialog({
  workflowId,
  current,
  onClose,
  onRestore,
}: {
  workflowId: number;
  current: number;
  onClose: () => void;
  onRestore: (g: Graph, revision: number) => void;
}) {
  const revisions = useRevisions(workflowId, true);
  const [busy, setBusy] = useState<number | null>(null);
  return (
    <Dialog
      open
      onOpenChange={(o) => !o && onClose()}
      title="Revision history"
      description="Every save is kept. Restoring loads a revision into the editor as an undoable change."
    >
      {revisions.isPending ? (
        <LoadingState />
      ) : revisions.isError ? (
        <p className="text-sm text-rose-700">{String(revisions.error.message)}</p>
      ) : (
        <ul className="max-h-96 divide-y divide-slate-100 overflow-auto">
          {[...revisions.data]
            .sort((a, b) => b.revision - a.revision)
            .map((r: Schemas["RevisionSummary"]) => (
              <li key={r.revision} className="flex items-center gap-3 py-2 text-sm">
                <span className="font-medium">r{r.revision}</span>
                <span className="text-slate-500">{r.nodes} nodes</span>
                <span className="text-xs text-slate-400">{formatDateTime(r.createdAt)}</span>
                {r.revision === current ? (
                  <Badge tone="indigo">current</Badge>
                ) : (
                  <Button
                    size="sm"
                    className="ml-auto"
                    loading={busy === r.revision}
                    onClick={async () => {
                      setBusy(r.revision);
                      try {
                        const rev = await fetchRevision(workflowId, r.revision);
                        onRestore(rev.graph as unknown as Graph, r.revision);
                      } catch (e) {
                        toast.error(e);
                      } finally {
                        setBusy(null);
                      }
                    }}
                  >
                    Restore
                  </Button>
                )}
              </li>
            ))}
        </ul>
      )}
    </Dialog>
  );
}
