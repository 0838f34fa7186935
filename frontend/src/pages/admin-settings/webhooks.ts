/** One entry of the webhook allow-list the server refused, by the line it came from. */
export interface LineError {
  line: number;
  entry: string;
  message: string;
}

const utf8 = new TextEncoder();

/** Byte-wise order of the UTF-8 encodings: the order the server sorts the list in. */
function compareBytes(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * The allow-list as the server will store it: trimmed, blank lines dropped,
 * sorted and without repeats. The server numbers its field errors
 * (`allowed[i]`) in this list, so sending it already in this shape lets
 * each error be traced back to its lines.
 */
export function parseAllowList(text: string): string[] {
  const entries = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return [...new Set(entries)].sort(compareBytes);
}

/** The server's `allowed[i]` errors against the lines of the text they came from. */
export function lineErrors(
  text: string,
  sent: string[],
  fields: Record<string, string>,
): LineError[] {
  const lines = text.split("\n").map((l) => l.trim());
  const out: LineError[] = [];
  for (const [field, message] of Object.entries(fields)) {
    const m = /^allowed\[(\d+)\]$/.exec(field);
    if (!m) continue;
    const entry = sent[Number(m[1])];
    if (entry === undefined) {
      out.push({ line: 0, entry: "", message });
      continue;
    }
    lines.forEach((l, i) => l === entry && out.push({ line: i + 1, entry, message }));
  }
  return out.sort((a, b) => a.line - b.line);
}
