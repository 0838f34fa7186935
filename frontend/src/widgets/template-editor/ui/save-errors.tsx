import { ApiError } from "@/shared/api";

/** The server's refusal of a save, with one line per invalid field. */
export function SaveErrors({ error, fields }: { error: unknown; fields: Record<string, string> }) {
  if (!(error instanceof ApiError)) return null;
  const list = Object.entries(fields);
  return (
    <div
      role="alert"
      className="border-b border-rose-200 bg-rose-50 px-6 py-2 text-sm text-rose-800"
      data-testid="template-errors"
    >
      {error.message}
      {list.length > 0 && (
        <ul className="mt-1 list-disc pl-5">
          {list.map(([f, m]) => (
            <li key={f}>
              <code>{f}</code> {m}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
