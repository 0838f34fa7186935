import { useCallback, type ReactNode } from "react";
import { useReactFlow } from "@xyflow/react";
import { isMac, modKeyLabel } from "@/shared/lib";
import { Badge, Kbd } from "@/shared/ui";
import { useEditor, useEditorContext } from "../model/context";
import { autoLayout } from "../model/layout";
import type { EditorCommand } from "../model/shortcuts";
import { useMeasuredSize } from "./canvas";
import { ToolButton } from "./tool-button";

const FIT = { duration: 300, padding: 0.15, maxZoom: 1 };

/** Title, state badges and graph tools; `children` are the workflow actions on the right. */
export function Toolbar({
  name,
  clientName,
  revision,
  dirty,
  errors,
  onBack,
  runCommand,
  badges,
  readOnly = false,
  children,
}: {
  name: string;
  clientName?: string;
  revision: number;
  dirty: boolean;
  errors: number;
  onBack: () => void;
  runCommand: (cmd: EditorCommand) => void;
  /** Extra state badges after the saved/valid ones. */
  badges?: ReactNode;
  /** Only the view tools (Fit) for a workflow the browser may not change. */
  readOnly?: boolean;
  children: ReactNode;
}) {
  const { store } = useEditorContext();
  const canUndo = useEditor((s) => s.past.length > 0);
  const canRedo = useEditor((s) => s.future.length > 0);
  const { fitView } = useReactFlow();
  const sizeOf = useMeasuredSize();

  const layout = useCallback(async () => {
    const s = store.getState();
    const positions = await autoLayout(s.nodes, s.edges, sizeOf);
    store.getState().setPositions(positions);
    requestAnimationFrame(() => fitView(FIT));
  }, [store, sizeOf, fitView]);

  return (
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
          {clientName ? `${clientName} · ` : ""}revision {revision}
        </p>
      </div>
      {dirty ? <Badge tone="amber">unsaved changes</Badge> : <Badge tone="green">saved</Badge>}
      {errors > 0 ? (
        <Badge tone="rose">{errors} problems</Badge>
      ) : (
        <Badge tone="green">valid</Badge>
      )}
      {badges}
      <div className="ml-4 flex items-center gap-1">
        {!readOnly && (
          <>
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
          </>
        )}
        <ToolButton label="Fit view" onClick={() => fitView(FIT)}>
          Fit
        </ToolButton>
        {!readOnly && (
          <>
            <ToolButton
              label={`Duplicate selection (${modKeyLabel}+D)`}
              onClick={() => runCommand("duplicate")}
            >
              Duplicate
            </ToolButton>
            <ToolButton label="Delete selection (Delete)" onClick={() => runCommand("delete")}>
              Delete
            </ToolButton>
          </>
        )}
      </div>
      <div className="ml-auto flex items-center gap-2">
        <span className="hidden text-[11px] text-slate-500 2xl:inline">
          <Kbd>Shift</Kbd>+drag box-select · <Kbd>{modKeyLabel}</Kbd>+<Kbd>C</Kbd>/<Kbd>V</Kbd>{" "}
          copy/paste
        </span>
        {children}
      </div>
    </div>
  );
}
