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
        <span className="text-slate-500">
          {Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`}
        </span>
      </summary>
      <div className="ml-4 border-l border-slate-200 pl-2">
        {entries.slice(0, 500).map(([k, v]) => (
          <JsonTree key={k} name={k} value={v} depth={depth + 1} />
        ))}
        {entries.length > 500 && (
          <div className="text-slate-500">… {entries.length - 500} more</div>
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

/** A file or binary value carried inline (runner wire form), as in a template test's answer. */
type InlineFile = { $file: { name: string; b64: string; size?: number } } | { $bytes: string };

export function isInlineFile(v: unknown): v is InlineFile {
  if (!v || typeof v !== "object") return false;
  const o = v as Record<string, unknown>;
  if (typeof o.$bytes === "string") return true;
  const f = o.$file as Record<string, unknown> | undefined;
  return !!f && typeof f === "object" && typeof f.b64 === "string";
}

/**
 * One output port's value: table, text, JSON tree, or for files an image
 * preview and a download. Files of a run are fetched by `runId`; inline ones
 * (`{"$file": …}`, `{"$bytes": …}`) are decoded in the browser.
 */
export function OutputViewer({
  runId,
  node,
  port,
  type,
  value,
}: {
  runId?: number;
  node: string;
  port: string;
  type?: string;
  value: unknown;
}) {
  const inline = isInlineFile(value);
  const isFile = type === "file" || type === "binary" || inline;
  const [view, setView] = useState<"auto" | "json">("auto");
  return (
    <div className="space-y-1" data-testid={`output-${node}-${port}`}>
      <div className="flex items-center gap-2 text-xs">
        <span className="font-semibold text-slate-700">{port}</span>
        {type && <span className="text-slate-500">{type}</span>}
        {!isFile && typeof value === "object" && value !== null && (
          <button
            className="ml-auto text-indigo-600 hover:underline"
            onClick={() => setView(view === "auto" ? "json" : "auto")}
          >
            {view === "auto" ? "Raw JSON" : "Formatted"}
          </button>
        )}
      </div>
      {inline ? (
        <InlineFileOutput value={value} fallbackName={`${node}-${port}`} />
      ) : isFile && runId != null ? (
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

function InlineFileOutput({ value, fallbackName }: { value: InlineFile; fallbackName: string }) {
  const { b64, name } =
    "$bytes" in value
      ? { b64: value.$bytes, name: fallbackName }
      : { b64: value.$file.b64, name: value.$file.name };
  const [file, setFile] = useState<{ url: string; type: string; size: number } | null>(null);
  useEffect(() => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const blob = new Blob([bytes], { type: mimeOf(name) });
    const url = URL.createObjectURL(blob);
    setFile({ url, type: blob.type, size: blob.size });
    return () => URL.revokeObjectURL(url);
  }, [b64, name]);
  if (!file) return <Spinner className="h-4 w-4" />;
  return <FileLinks url={file.url} type={file.type} name={name} size={file.size} />;
}

const MIME: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  txt: "text/plain",
  csv: "text/csv",
  json: "application/json",
};

function mimeOf(name: string) {
  return MIME[name.split(".").pop()?.toLowerCase() ?? ""] ?? "application/octet-stream";
}

function FileLinks({
  url,
  type,
  name,
  size,
}: {
  url: string;
  type: string;
  name: string;
  size: number;
}) {
  return (
    <div className="space-y-2">
      {type.startsWith("image/") && (
        <img src={url} alt={name} className="max-h-64 rounded border border-slate-200" />
      )}
      <a href={url} download={name}>
        <Button size="sm">
          Download {name} ({Math.ceil(size / 1024)} KiB)
        </Button>
      </a>
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
  return <FileLinks {...file} />;
}
