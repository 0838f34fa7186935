import { useState } from "react";
import { cn, formatDateTime } from "@/shared/lib";
import { ErrorState, LoadingState } from "@/shared/ui";
import { CodeDiff } from "@/shared/code";
import { fetchTemplateVersion, useTemplateVersions } from "@/entities/template";

/** Each version's code change against the version before it. */
export function VersionHistory({ name, current }: { name: string; current: string }) {
  const versions = useTemplateVersions(name);
  const [picked, setPicked] = useState<{ version: number; code: string; previous: string } | null>(
    null,
  );
  if (versions.isPending) return <LoadingState />;
  if (versions.isError) return <ErrorState error={versions.error} />;
  const list = [...versions.data].sort((a, b) => b.version - a.version);
  return (
    <div className="grid gap-4 md:grid-cols-[16rem_1fr]">
      <ul
        className="divide-y divide-slate-100 rounded-md bg-white ring-1 ring-slate-200"
        aria-label="Versions"
      >
        {list.map((v) => (
          <li key={v.version}>
            <button
              className={cn(
                "w-full px-3 py-2 text-left text-sm hover:bg-slate-50",
                picked?.version === v.version && "bg-indigo-50",
              )}
              onClick={async () => {
                const prev =
                  v.version > 1
                    ? await fetchTemplateVersion(name, v.version - 1).catch(() => null)
                    : null;
                setPicked({ version: v.version, code: v.code, previous: prev?.code ?? "" });
              }}
            >
              <span className="font-medium">v{v.version}</span>{" "}
              <span className="text-xs text-slate-500">{formatDateTime(v.createdAt)}</span>
            </button>
          </li>
        ))}
      </ul>
      <div>
        {picked ? (
          <>
            <p className="mb-2 text-sm text-slate-600">
              Code changes in v{picked.version}{" "}
              {picked.version > 1 ? `compared with v${picked.version - 1}` : "(first version)"}
            </p>
            <CodeDiff before={picked.previous} after={picked.code} />
          </>
        ) : (
          <>
            <p className="mb-2 text-sm text-slate-600">
              Pick a version to see what its code changed. Current code:
            </p>
            <CodeDiff before={current} after={current} />
          </>
        )}
      </div>
    </div>
  );
}
