import { useId, type ReactNode } from "react";
import { downloadCsv, toCsv, type CsvCell } from "@/shared/lib";
import { Button } from "@/shared/ui";

export interface TableData {
  header: string[];
  rows: CsvCell[][];
}

/**
 * One chart with its numbers: the table is the chart's text alternative
 * (collapsed under the chart, always in the document) and what the CSV
 * export downloads.
 */
export function ChartCard({
  title,
  slug,
  note,
  table,
  children,
  className,
}: {
  title: string;
  /** File name stem of the CSV and the card's test id. */
  slug: string;
  note?: ReactNode;
  table: TableData;
  children: ReactNode;
  className?: string;
}) {
  const headingId = useId();
  return (
    <section
      aria-labelledby={headingId}
      data-testid={`chart-${slug}`}
      className={`rounded-lg border border-slate-200 bg-white p-4 shadow-sm ${className ?? ""}`}
    >
      <div className="mb-2 flex items-start justify-between gap-2">
        <div>
          <h3 id={headingId} className="text-sm font-semibold text-slate-900">
            {title}
          </h3>
          {note && <p className="text-xs text-slate-600">{note}</p>}
        </div>
        <Button
          size="sm"
          onClick={() => downloadCsv(`${slug}.csv`, toCsv(table.header, table.rows))}
          aria-label={`Download ${title} as CSV`}
        >
          CSV
        </Button>
      </div>
      {children}
      <details className="mt-2 text-xs">
        <summary className="cursor-pointer text-slate-600">Table</summary>
        {/* Focusable, so a keyboard can scroll a long table. */}
        <div
          className="mt-1 max-h-64 overflow-auto"
          tabIndex={0}
          role="region"
          aria-label={`${title} numbers`}
        >
          <table className="min-w-full text-left" aria-label={`${title} (table)`}>
            <thead>
              <tr>
                {table.header.map((h) => (
                  <th key={h} scope="col" className="bg-slate-50 px-2 py-1 font-semibold">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map((r, i) => (
                <tr key={i} className="border-t border-slate-100">
                  {r.map((c, j) => (
                    <td key={j} className="px-2 py-1 tabular-nums">
                      {c ?? "—"}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
}

/** A headline number. */
export function Kpi({
  label,
  value,
  hint,
  testId,
}: {
  label: string;
  value: ReactNode;
  hint?: ReactNode;
  testId: string;
}) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white px-3 py-2 shadow-sm">
      <dt className="text-xs text-slate-600">{label}</dt>
      <dd className="text-xl font-semibold tabular-nums text-slate-900" data-testid={testId}>
        {value}
      </dd>
      {hint && <dd className="text-[11px] text-slate-600">{hint}</dd>}
    </div>
  );
}
