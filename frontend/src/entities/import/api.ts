import { useEffect, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, authFetch, toApiError, unwrap, validAccessToken } from "@/shared/api";
import { createSseParser } from "@/shared/lib";
import type { ImportSession, Preview } from "./model";

export const importKeys = {
  all: ["imports"] as const,
  list: ["imports", "list"] as const,
  detail: (id: number) => ["imports", "detail", id] as const,
  preview: (id: number, sheet: string | null, headerRow: number | null) =>
    ["imports", "detail", id, "preview", sheet, headerRow] as const,
  mappings: ["imports", "mappings"] as const,
};

/**
 * Uploads the file as multipart (field `file`) with upload progress;
 * XMLHttpRequest because fetch cannot report it. Refusals (413, 415, 422)
 * reject with the server's message.
 */
export async function uploadImport(
  file: File,
  onProgress: (fraction: number) => void,
): Promise<{ import: ImportSession; preview: Preview }> {
  const token = await validAccessToken();
  const form = new FormData();
  form.append("file", file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/tasks/import");
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300)
        return resolve(body as { import: ImportSession; preview: Preview });
      reject(
        toApiError(new Response(null, { status: xhr.status, statusText: xhr.statusText }), body),
      );
    };
    xhr.onerror = () => reject(new Error(`Uploading ${file.name} failed (network).`));
    xhr.send(form);
  });
}

export function useImports() {
  return useQuery({
    queryKey: importKeys.list,
    queryFn: () => unwrap(api.GET("/api/tasks/imports", { params: { query: { perPage: 20 } } })),
  });
}

export function useImport(id: number | null) {
  return useQuery({
    queryKey: importKeys.detail(id ?? 0),
    enabled: id != null,
    queryFn: () =>
      unwrap(api.GET("/api/tasks/imports/{id}", { params: { path: { id: id ?? 0 } } })),
  });
}

/** The preview with another sheet or header row than the upload's. */
export function useImportPreview(
  id: number | null,
  sheet: string | null,
  headerRow: number | null,
  initial: Preview | null,
) {
  return useQuery({
    queryKey: importKeys.preview(id ?? 0, sheet, headerRow),
    enabled: id != null && (sheet != null || headerRow != null),
    placeholderData: initial ?? undefined,
    queryFn: () =>
      unwrap(
        api.GET("/api/tasks/imports/{id}/preview", {
          params: {
            path: { id: id ?? 0 },
            query: { sheet: sheet ?? undefined, headerRow: headerRow ?? undefined },
          },
        }),
      ),
  });
}

export function useSavedMappings() {
  return useQuery({
    queryKey: importKeys.mappings,
    queryFn: () => unwrap(api.GET("/api/tasks/import-mappings")),
  });
}

/** Downloads the error report CSV (an authenticated request, saved as a file). */
export async function downloadReport(id: number, fileName: string): Promise<void> {
  const res = await authFetch(new Request(`/api/tasks/imports/${id}/report`));
  if (!res.ok) throw toApiError(res, await res.json().catch(() => undefined));
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName.replace(/\.[^.]+$/, "") + "-errors.csv";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export interface ImportProgress {
  state: ImportSession["state"];
  rowsDone: number;
  rowsTotal: number;
  created: number;
  updated: number;
  skipped: number;
  message: string | null;
}

/**
 * Follows `GET /api/tasks/imports/{id}/events` while `enabled`; the events
 * carry the job row's progress. Ends when the import settles.
 */
export function useImportProgress(id: number | null, enabled: boolean): ImportProgress | null {
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  useEffect(() => {
    if (!enabled || id == null) return;
    const ctrl = new AbortController();
    (async () => {
      try {
        const res = await authFetch(
          new Request(`/api/tasks/imports/${id}/events`, {
            headers: { Accept: "text/event-stream" },
            signal: ctrl.signal,
          }),
        );
        if (!res.ok || !res.body) return;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        const parse = createSseParser();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const m of parse(value)) {
            if (m.event !== "progress") continue;
            try {
              setProgress(JSON.parse(m.data) as ImportProgress);
            } catch {
              /* a malformed hint is skipped; the row stays the truth */
            }
          }
        }
      } catch {
        /* aborted or dropped: the page polls the session as a fallback */
      }
    })();
    return () => ctrl.abort();
  }, [id, enabled]);
  return progress;
}
