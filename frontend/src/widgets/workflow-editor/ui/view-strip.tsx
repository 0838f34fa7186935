import { useRef } from "react";
import { cn } from "@/shared/lib";
import { Button } from "@/shared/ui";

export type EditorView = "canvas" | "yaml";

/**
 * The Canvas | YAML switch and the manifest file actions. Over the canvas it
 * floats in the top right corner (the top left stays free for clicks on the
 * empty canvas), so the canvas keeps its size and its fitted view;
 * above the YAML it is a strip.
 */
export function ViewStrip({
  view,
  onView,
  onDownload,
  onUpload,
  canUpload,
  floating = false,
}: {
  view: EditorView;
  onView: (v: EditorView) => void;
  onDownload: () => void;
  onUpload: (file: File) => void;
  canUpload: boolean;
  floating?: boolean;
}) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <div
      className={
        floating
          ? "absolute right-2 top-2 z-10 flex items-center gap-2 rounded-lg bg-white/95 p-1 shadow-sm ring-1 ring-slate-200"
          : "flex h-9 shrink-0 items-center gap-2 border-b border-slate-200 bg-white px-2"
      }
    >
      <div
        role="radiogroup"
        aria-label="Editor view"
        className="inline-flex rounded-md bg-slate-100 p-0.5 text-xs font-medium"
      >
        {(
          [
            ["canvas", "Canvas"],
            ["yaml", "YAML"],
          ] as const
        ).map(([v, label]) => (
          <button
            key={v}
            role="radio"
            aria-checked={view === v}
            data-testid={`view-${v}`}
            onClick={() => onView(v)}
            className={cn(
              "rounded px-3 py-0.5",
              view === v
                ? "bg-white text-slate-900 shadow-sm"
                : "text-slate-600 hover:text-slate-900",
            )}
          >
            {label}
          </button>
        ))}
      </div>
      {!floating && <span className="flex-1" />}
      <Button size="sm" onClick={onDownload} title="The draft as a Workflow manifest file">
        Download YAML
      </Button>
      <Button
        size="sm"
        disabled={!canUpload}
        onClick={() => input.current?.click()}
        title="Load a Workflow manifest file into the draft"
      >
        Upload YAML
      </Button>
      <input
        ref={input}
        type="file"
        className="hidden"
        data-testid="yaml-upload"
        aria-label="Upload a Workflow manifest"
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = "";
          if (f) onUpload(f);
        }}
      />
    </div>
  );
}

/** Why the editor is read-only, and the way out. */
export function ManagedNotice({
  where,
  copying,
  onCopy,
}: {
  where: string;
  copying: boolean;
  onCopy: () => void;
}) {
  return (
    <div
      role="note"
      data-testid="managed-notice"
      className="flex shrink-0 items-center gap-3 border-b border-indigo-200 bg-indigo-50 px-3 py-2 text-sm text-indigo-900"
    >
      <span>
        <b>Read-only.</b> This workflow is managed in the cluster
        {where ? (
          <>
            {" "}
            (resource <code className="font-mono text-xs">{where}</code>)
          </>
        ) : null}
        : change its manifest in Git and apply it, or work on a copy here.
      </span>
      <span className="flex-1" />
      <Button size="sm" variant="primary" loading={copying} onClick={onCopy}>
        Copy to a UI-managed workflow
      </Button>
    </div>
  );
}
