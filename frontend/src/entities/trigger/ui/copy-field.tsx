import { useEffect, useId, useRef, useState } from "react";
import { Button } from "@/shared/ui";

/**
 * A read-only value with a copy button. Where the clipboard is refused the
 * value is selected instead, so Ctrl+C still works.
 */
export function CopyField({
  label,
  value,
  testId,
}: {
  label: string;
  value: string;
  testId?: string;
}) {
  const id = useId();
  const input = useRef<HTMLTextAreaElement>(null);
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const t = setTimeout(() => setState("idle"), 2500);
    return () => clearTimeout(t);
  }, [state]);
  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setState("copied");
    } catch {
      input.current?.select();
      setState("failed");
    }
  }
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-xs font-medium text-slate-700">
        {label}
      </label>
      <div className="flex gap-2">
        {/* A textarea, so a long URL or key shows whole instead of scrolling out of sight. */}
        <textarea
          id={id}
          ref={input}
          readOnly
          rows={value.length > 72 ? 2 : 1}
          value={value}
          onFocus={(e) => e.currentTarget.select()}
          className="block w-full min-w-0 resize-none break-all rounded-md border-0 bg-slate-50 px-2.5 py-1.5 font-mono text-xs text-slate-900 ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600"
          data-testid={testId}
        />
        <Button
          size="sm"
          className="w-16 self-start"
          onClick={copy}
          aria-label={`${state === "copied" ? "Copied" : "Copy"} ${label}`}
        >
          {state === "copied" ? "Copied" : "Copy"}
        </Button>
      </div>
      <p className="min-h-4 text-xs text-slate-500" role="status">
        {state === "copied"
          ? `${label} copied to the clipboard.`
          : state === "failed"
            ? "The browser refused the clipboard: the text is selected, press Ctrl+C."
            : ""}
      </p>
    </div>
  );
}
