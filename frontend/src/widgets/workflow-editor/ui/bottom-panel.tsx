import { useCallback, type ReactNode } from "react";
import { cn } from "@/shared/lib";
import { LoadingState } from "@/shared/ui";
import type { Problem } from "@/entities/workflow";
import { RunStatusBadge, type LiveRun, type Run } from "@/entities/run";
import { useEditor, useEditorContext } from "../model/context";
import type { ActiveRun } from "../model/use-active-run";
import { useFocusNode } from "./canvas";
import { ProblemsPanel } from "./problems-panel";
import { RunHistory } from "./run-history";

export type BottomTab = "problems" | "run" | "runs";

export type RunPanel = (args: {
  run: Run;
  live: LiveRun | null;
  selected: string | null;
  onSelect: (node: string) => void;
}) => ReactNode;

/** The tabs under the canvas: the graph's problems, the active run, and the run history. */
export function BottomPanel({
  tab,
  onTab,
  problems,
  problemsSource,
  activeRun,
  runPanel,
  workflowId,
  onRerun,
}: {
  tab: BottomTab;
  onTab: (tab: BottomTab) => void;
  problems: Problem[];
  problemsSource: "client" | "server";
  activeRun: ActiveRun;
  runPanel?: RunPanel;
  workflowId: number;
  onRerun: () => void;
}) {
  const { store } = useEditorContext();
  const focusNode = useFocusNode();
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const selectedRunNode = selectedNodes.size === 1 ? [...selectedNodes][0]! : null;
  const errors = problems.filter((p) => p.severity === "error").length;

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

  return (
    <>
      <div
        className="flex shrink-0 gap-1 border-t border-slate-200 bg-slate-50 px-2 text-xs"
        role="tablist"
        aria-label="Bottom panel"
      >
        {(
          [
            ["problems", `Problems (${errors})`],
            ["run", activeRun.id ? `Run #${activeRun.id}` : "Run"],
            ["runs", "Runs"],
          ] as const
        ).map(([t, label]) => (
          <button
            key={t}
            role="tab"
            aria-selected={tab === t}
            onClick={() => onTab(t)}
            className={cn(
              "border-b-2 px-2 py-1.5",
              tab === t
                ? "border-indigo-600 font-medium text-indigo-700"
                : "border-transparent text-slate-500",
            )}
          >
            {label}
            {t === "run" && activeRun.status && (
              <span className="ml-1.5" data-testid="active-run-status">
                <RunStatusBadge status={activeRun.status} />
              </span>
            )}
          </button>
        ))}
      </div>
      {tab === "problems" ? (
        <ProblemsPanel problems={problems} onPick={pick} source={problemsSource} />
      ) : tab === "run" ? (
        <section className="flex h-72 shrink-0 flex-col bg-white" aria-label="Run">
          {!activeRun.id ? (
            <p className="p-4 text-sm text-slate-500">
              Press Run to execute this workflow; its nodes light up here live.
            </p>
          ) : !activeRun.run ? (
            <LoadingState />
          ) : (
            runPanel?.({
              run: activeRun.run,
              live: activeRun.live,
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
          workflowId={workflowId}
          activeRunId={activeRun.id}
          onOpen={(id) => {
            activeRun.open(id);
            onTab("run");
          }}
          onRerun={onRerun}
        />
      )}
    </>
  );
}
