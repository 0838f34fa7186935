import { useState, type FormEvent } from "react";
import { ApiError, errorMessage } from "@/shared/api";
import { Button } from "@/shared/ui";
import type { Graph } from "@/entities/workflow";
import { useGenerateWorkflow, type Proposal } from "../model/api";

/** Problems the server could not get the model to fix, for the message. */
function remainingProblems(error: unknown): string[] {
  if (!(error instanceof ApiError) || error.code !== "ai_no_valid_proposal") return [];
  const d = error.details as { problems?: { message?: string }[] } | undefined;
  return (d?.problems ?? []).map((p) => p.message ?? "").filter(Boolean);
}

/**
 * The "Ask AI" prompt bar: sends the sentence and the current draft, and
 * hands a validated proposal to `onProposal` (shown as a diff; nothing is
 * saved or run from here).
 */
export function AskAiBar({
  clientId,
  current,
  onProposal,
  onClose,
}: {
  clientId: number;
  current: () => Graph;
  onProposal: (p: Proposal) => void;
  onClose: () => void;
}) {
  const [prompt, setPrompt] = useState("");
  const generate = useGenerateWorkflow();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!prompt.trim()) return;
    generate.mutate(
      { prompt: prompt.trim(), clientId, graph: current() },
      { onSuccess: onProposal },
    );
  };
  const remaining = remainingProblems(generate.error);
  return (
    <form
      onSubmit={submit}
      aria-label="Ask AI"
      className="border-b border-violet-200 bg-violet-50 px-3 py-2"
    >
      <div className="flex items-start gap-2">
        <span className="mt-1.5 rounded bg-violet-700 px-1.5 py-0.5 text-[10px] font-semibold uppercase tracking-wide text-white">
          AI
        </span>
        <textarea
          aria-label="Describe the workflow"
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) submit(e);
            if (e.key === "Escape") onClose();
          }}
          rows={2}
          maxLength={4000}
          autoFocus
          placeholder="Describe the process, e.g. “when a CSV is imported create a task for each row, then notify the client”"
          className="min-h-[2.5rem] flex-1 resize-y rounded-md border border-violet-200 bg-white px-2 py-1.5 text-sm focus:outline-2 focus:outline-violet-500"
        />
        <Button
          type="submit"
          variant="primary"
          size="sm"
          loading={generate.isPending}
          disabled={!prompt.trim()}
          className="mt-0.5 !bg-violet-700 hover:!bg-violet-800"
        >
          Propose
        </Button>
        <Button size="sm" variant="ghost" className="mt-0.5" onClick={onClose}>
          Close
        </Button>
      </div>
      <p className="mt-1 pl-9 text-xs text-violet-900/70">
        The proposal is checked by the workflow validator and shown as a diff. Accepting only
        changes the draft; saving and running stay yours.
      </p>
      {generate.isError && (
        <div role="alert" className="mt-1 pl-9 text-xs text-rose-700">
          {errorMessage(generate.error)}
          {remaining.length > 0 && (
            <ul className="mt-0.5 list-disc pl-4">
              {remaining.slice(0, 8).map((m) => (
                <li key={m}>{m}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </form>
  );
}
