import { useRef, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, toApiError, unwrap, validAccessToken } from "@/shared/api";
import { toast } from "@/shared/ui";
import { cn } from "@/shared/lib";
import { taskKeys } from "@/entities/task";

interface Upload {
  name: string;
  fraction: number;
}

/**
 * Sends one file as the raw request body (`?name=`), reporting progress.
 * XMLHttpRequest because fetch cannot report upload progress.
 */
async function uploadFile(
  taskId: number,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<void> {
  const token = await validAccessToken();
  await new Promise<void>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/tasks/${taskId}/attachments?name=${encodeURIComponent(file.name)}`);
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = undefined;
      }
      reject(
        toApiError(new Response(null, { status: xhr.status, statusText: xhr.statusText }), body),
      );
    };
    xhr.onerror = () => reject(new Error(`Uploading ${file.name} failed (network).`));
    xhr.send(file);
  });
}

/** Drop files here or pick them; each shows its progress; refusals (413, 415) say why. */
export function AttachmentDropzone({ taskId }: { taskId: number }) {
  const qc = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [uploads, setUploads] = useState<Upload[]>([]);

  const send = async (files: FileList | File[]) => {
    for (const file of Array.from(files)) {
      setUploads((u) => [...u, { name: file.name, fraction: 0 }]);
      try {
        await uploadFile(taskId, file, (fraction) =>
          setUploads((u) => u.map((x) => (x.name === file.name ? { ...x, fraction } : x))),
        );
        toast.success(`Attached ${file.name}.`);
      } catch (e) {
        toast.error(e);
      } finally {
        setUploads((u) => u.filter((x) => x.name !== file.name));
        void qc.invalidateQueries({ queryKey: taskKeys.attachments(taskId) });
        void qc.invalidateQueries({ queryKey: taskKeys.activity(taskId) });
      }
    }
  };

  return (
    <div
      className={cn(
        "rounded-md border border-dashed p-3 text-center text-sm",
        over ? "border-indigo-500 bg-indigo-50" : "border-slate-300 text-slate-600",
      )}
      data-testid="attachment-dropzone"
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes("Files")) return;
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        if (e.dataTransfer.files.length) void send(e.dataTransfer.files);
      }}
    >
      Drop files here or{" "}
      <button
        type="button"
        className="font-medium text-indigo-700 underline"
        onClick={() => input.current?.click()}
      >
        choose files
      </button>
      <input
        ref={input}
        type="file"
        multiple
        className="sr-only"
        aria-label="Attach files"
        onChange={(e) => {
          if (e.target.files?.length) void send(e.target.files);
          e.target.value = "";
        }}
      />
      {uploads.map((u) => (
        <div key={u.name} className="mt-2 text-left text-xs text-slate-700">
          {u.name}
          <progress
            className="ml-2 h-2 w-32 align-middle"
            value={u.fraction}
            max={1}
            aria-label={`Uploading ${u.name}`}
          />
        </div>
      ))}
    </div>
  );
}

/** Downloads an attachment through the authenticated client (served as an attachment). */
export async function downloadAttachment(id: number, name: string) {
  const token = await validAccessToken();
  const res = await fetch(`/api/attachments/${id}`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!res.ok) throw toApiError(res, await res.json().catch(() => undefined));
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Deletes an attachment (its uploader, staff in scope, admins). */
export function useDeleteAttachment(taskId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/attachments/{id}", { params: { path: { id } } })),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: taskKeys.attachments(taskId) });
      void qc.invalidateQueries({ queryKey: taskKeys.activity(taskId) });
    },
  });
}
