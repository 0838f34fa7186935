import { useEffect, useState } from "react";
import { errorMessage } from "@/shared/api";
import { Button, Spinner } from "@/shared/ui";
import { fetchOutput } from "@/entities/run";

/** Collapsible JSON tree. */
export function JsonTree({
  value,
  name,
  depth = 0,
}: {
  value: unknown;
  name?: string;
  depth?: number;
}) {
  const label = name != null ? <span className="text-slate-500">{name}: </span> : null;
  if (value === null || typeof value !== "object") {
    const color =
      typeof value === "string"
        ? "text-emerald-700"
        : typeof value === "number"
          ? "text-sky-700"
          : "text-violet-700";
    return (
      <div className="font-mono text-xs">
        {label}
        <span className={color}>{JSON.stringify(value)}</span>
      </div>
    );
  }
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value);
  return (
    <details open={depth < 2} className="font-mono text-xs">
      <summary className="cursor-pointer select-none">
        {label}
        <span className="text-slate-400">
          {Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`}
        </span>
      </summary>
      <div className="ml-4 border-l border-slate-200 pl-2">
        {entries.slice(0, 500).map(([k, v]) => (
          <JsonTree key={k} name={k} value={v} depth={depth + 1} />
        ))}
        {entries.length > 500 && (
          <div className="text-slate-400">… {entries.length - 500} more</div>
        )}
      </div>
    </details>
  );
}

function isTable(v: unknown): v is Record<string, unknown>[] {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((r) => r && typeof r === "object" && !Array.isArray(r))
  );
}

export function TableView({ rows }: { rows: Record<string, unknown>[] }) {
  const cols = [...new Set(rows.slice(0, 200).flatMap((r) => Object.keys(r)))];
  return (
    <div className="max-h-80 overflow-auto rounded border border-slate-200">
      <table className="min-w-full text-xs">
        <thead className="sticky top-0 bg-slate-50">
          <tr>
            {cols.map((c) => (
              <th key={c} className="px-2 py-1 text-left font-semibold text-slate-600">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {rows.slice(0, 1000).map((r, i) => (
            <tr key={i}>
              {cols.map((c) => (
                <td key={c} className="px-2 py-1 font-mono">
                  {typeof r[c] === "object" ? JSON.stringify(r[c]) : String(r[c] ?? "")}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One output port's value: table, text, JSON tree, or for files an image preview and a download. */
export function OutputViewer({
  runId,
  node,
  port,
  type,
  value,
}: {
  runId: number;
  node: string;
  port: string;
  type?: string;
  value: unknown;
}) {
  const isFile = type === "file" || type === "binary";
  const [view, setView] = useState<"auto" | "json">("auto");
  return (
    <div className="space-y-1" data-testid={`output-${node}-${port}`}>
      <div className="flex items-center gap-2 text-xs">
        <span className="font-semibold text-slate-700">{port}</span>
        {type && <span className="text-slate-400">{type}</span>}
        {!isFile && typeof value === "object" && value !== null && (
          <button
            className="ml-auto text-indigo-600 hover:underline"
            onClick={() => setView(view === "auto" ? "json" : "auto")}
          >
            {view === "auto" ? "Raw JSON" : "Formatted"}
          </button>
        )}
      </div>
      {isFile ? (
        <FileOutput runId={runId} node={node} port={port} />
      ) : view === "json" ? (
        <pre className="max-h-80 overflow-auto rounded bg-slate-50 p-2 text-xs">
          {JSON.stringify(value, null, 2)}
        </pre>
      ) : isTable(value) ? (
        <TableView rows={value} />
      ) : typeof value === "string" ? (
        <pre
          className="max-h-80 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-2 text-xs"
          data-testid="output-text"
        >
          {value}
        </pre>
      ) : (
        <div className="max-h-80 overflow-auto rounded bg-slate-50 p-2">
          <JsonTree value={value} />
        </div>
      )}
    </div>
  );
}

function FileOutput({ runId, node, port }: { runId: number; node: string; port: string }) {
  const [file, setFile] = useState<{
    url: string;
    type: string;
    name: string;
    size: number;
  } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let url: string | null = null;
    let cancelled = false;
    fetchOutput(runId, node, port)
      .then(async (res) => {
        const blob = await res.blob();
        const disposition = res.headers.get("content-disposition") ?? "";
        const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? `${node}-${port}`;
        url = URL.createObjectURL(blob);
        if (!cancelled) setFile({ url, type: blob.type, name, size: blob.size });
      })
      .catch((e) => !cancelled && setError(errorMessage(e)));
    return () => {
      cancelled = true;
      if (url) URL.revokeObjectURL(url);
    };
  }, [runId, node, port]);
  if (error) return <p className="text-xs text-rose-600">{error}</p>;
  if (!file) return <Spinner className="h-4 w-4" />;
  return (
    <div className="space-y-2">
      {file.type.startsWith("image/") && (
        <img src={file.url} alt={file.name} className="max-h-64 rounded border border-slate-200" />
      )}
      <a href={file.url} download={file.name}>
        <Button size="sm">
          Download {file.name} ({Math.ceil(file.size / 1024)} KiB)
        </Button>
      </a>
    </div>
  );
}
