/**
 * CSV the SPA writes (chart tables): RFC 4180 quoting, and every text cell a
 * spreadsheet would run as a formula neutralized with a leading apostrophe —
 * the same rule as the server's import error reports
 * (`katalusis_import::report::neutralize`). Numbers are written as numbers.
 */
export type CsvCell = string | number | null | undefined;

const FORMULA_START = new Set(["=", "+", "-", "@", "\t", "\r"]);

export function neutralizeCell(cell: string): string {
  return cell.length > 0 && FORMULA_START.has(cell[0]!) ? `'${cell}` : cell;
}

function quote(cell: CsvCell): string {
  if (cell == null) return "";
  if (typeof cell === "number") return Number.isFinite(cell) ? String(cell) : "";
  const safe = neutralizeCell(cell);
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(header: string[], rows: CsvCell[][]): string {
  return [header, ...rows].map((r) => r.map(quote).join(",")).join("\r\n") + "\r\n";
}

/** Offers `csv` as a download named `fileName`. */
export function downloadCsv(fileName: string, csv: string) {
  const url = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
