import { diffLines } from "diff";
import { cn } from "../lib";

/** A line diff of two texts, added lines green and removed lines red. */
export function CodeDiff({ before, after }: { before: string; after: string }) {
  const parts = diffLines(before, after);
  const unchanged = parts.every((p) => !p.added && !p.removed);
  return (
    <pre
      className="max-h-[28rem] overflow-auto rounded-md bg-slate-950 p-3 font-mono text-xs leading-5 text-slate-200"
      data-testid="code-diff"
      // Scrolls; focusable so the keyboard can scroll it too.
      tabIndex={0}
    >
      {unchanged && <span className="text-slate-400"># code unchanged{"\n"}</span>}
      {parts.flatMap((p, i) =>
        p.value
          .replace(/\n$/, "")
          .split("\n")
          .map((line, j) => (
            <div
              key={`${i}-${j}`}
              className={cn(
                p.added && "bg-emerald-900/60 text-emerald-200",
                p.removed && "bg-rose-900/60 text-rose-200",
              )}
            >
              {p.added ? "+ " : p.removed ? "- " : "  "}
              {line}
            </div>
          )),
      )}
    </pre>
  );
}
