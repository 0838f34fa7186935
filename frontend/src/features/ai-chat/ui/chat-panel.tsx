import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { useLocation } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { errorMessage } from "@/shared/api";
import { Button } from "@/shared/ui";
import { cn } from "@/shared/lib";
import { useAiEnabled } from "@/entities/ai";
import {
  chatKeys,
  sendMessage,
  useConversation,
  useConversations,
  useCreateConversation,
  useDeleteConversation,
  type ChatMessage,
} from "../api";
import { pageContext, type PageContext } from "../model/context";

const toolLabels: Record<string, string> = {
  search_tasks: "searched tasks",
  get_task: "read a task",
  get_run_status: "read a run's status",
  explain_workflow_problems: "validated a workflow",
};

interface Pending {
  question: string;
  answer: string;
  tools: string[];
  context: PageContext | null;
}

/**
 * The assistant's side panel, on every page while the assistant is on:
 * conversations of the signed-in user, the page's workflow, run or task as
 * context, answers streamed as they are written. Every text is rendered as
 * text (React escapes it), never as HTML or Markdown.
 */
export function ChatPanel() {
  const enabled = useAiEnabled();
  const [open, setOpen] = useState(false);
  if (!enabled) return null;
  return (
    <>
      {!open && (
        <button
          type="button"
          onClick={() => setOpen(true)}
          data-testid="ai-chat-toggle"
          className="fixed bottom-4 right-4 z-40 rounded-full bg-violet-700 px-4 py-2 text-sm font-semibold text-white shadow-lg hover:bg-violet-600 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-violet-700"
        >
          AI assistant
        </button>
      )}
      {open && <Panel onClose={() => setOpen(false)} />}
    </>
  );
}

function Panel({ onClose }: { onClose: () => void }) {
  const location = useLocation();
  const context = pageContext(location.pathname, location.search);
  const qc = useQueryClient();
  const conversations = useConversations(true);
  const [current, setCurrent] = useState<number | null>(null);
  const conversation = useConversation(current);
  const create = useCreateConversation();
  const remove = useDeleteConversation();
  const [draft, setDraft] = useState("");
  const [pending, setPending] = useState<Pending | null>(null);
  const [error, setError] = useState<string | null>(null);
  const busy = pending != null;
  const end = useRef<HTMLDivElement>(null);

  const messages: ChatMessage[] = conversation.data?.messages ?? [];
  useEffect(() => {
    end.current?.scrollIntoView?.({ block: "end" });
  }, [messages.length, pending?.answer]);

  async function ask(e?: FormEvent) {
    e?.preventDefault();
    const question = draft.trim();
    if (!question || busy) return;
    setError(null);
    setPending({ question, answer: "", tools: [], context });
    setDraft("");
    try {
      const id = current ?? (await create.mutateAsync()).id;
      setCurrent(id);
      await sendMessage(id, question, context, (ev) => {
        if (ev.type === "delta") {
          setPending((p) => (p ? { ...p, answer: p.answer + ev.text } : p));
        } else if (ev.type === "tool") {
          setPending((p) => (p ? { ...p, tools: [...p.tools, ev.name] } : p));
        } else if (ev.type === "error") {
          setError(ev.message);
        }
      });
      await Promise.all([
        qc.invalidateQueries({ queryKey: chatKeys.one(id) }),
        qc.invalidateQueries({ queryKey: chatKeys.all }),
      ]);
    } catch (err) {
      setError(errorMessage(err));
      setDraft(question);
    } finally {
      setPending(null);
    }
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      void ask();
    }
  }

  return (
    <aside
      aria-label="AI assistant"
      data-testid="ai-chat-panel"
      className="fixed bottom-0 right-0 top-12 z-40 flex w-full max-w-md flex-col border-l border-slate-200 bg-white shadow-xl"
    >
      <header className="flex items-center gap-2 border-b border-slate-200 px-3 py-2">
        <span className="rounded bg-violet-700 px-1.5 py-0.5 text-[10px] font-semibold uppercase tracking-wide text-white">
          AI
        </span>
        <h2 className="text-sm font-semibold text-slate-900">Assistant</h2>
        <select
          aria-label="Conversation"
          className="ml-auto max-w-44 truncate rounded-md border border-slate-300 px-1.5 py-1 text-xs"
          value={current ?? ""}
          disabled={busy}
          onChange={(e) => setCurrent(e.target.value ? Number(e.target.value) : null)}
        >
          <option value="">New conversation</option>
          {conversations.data?.items.map((c) => (
            <option key={c.id} value={c.id}>
              {c.title}
            </option>
          ))}
        </select>
        {current != null && (
          <Button
            size="sm"
            variant="ghost"
            disabled={busy}
            loading={remove.isPending}
            onClick={async () => {
              await remove.mutateAsync(current);
              setCurrent(null);
            }}
            title="Delete this conversation"
          >
            Delete
          </Button>
        )}
        <Button size="sm" variant="ghost" onClick={onClose} aria-label="Close the assistant">
          ✕
        </Button>
      </header>
      <div className="min-h-0 flex-1 space-y-3 overflow-auto p-3 text-sm" aria-live="polite">
        {messages.length === 0 && !pending && (
          <p className="text-slate-600">
            Ask about your tasks, a run or a workflow. The assistant reads only what you may see and
            never changes anything: it explains and proposes, you decide.
          </p>
        )}
        {messages.map((m) => (
          <Bubble key={m.id} role={m.role} text={m.content} tools={m.toolsUsed} />
        ))}
        {pending && (
          <>
            <Bubble role="user" text={pending.question} tools={[]} />
            <Bubble
              role="assistant"
              text={pending.answer}
              tools={pending.tools}
              streaming
              testId="ai-chat-streaming"
            />
          </>
        )}
        {error && (
          <p role="alert" className="text-sm text-rose-700">
            {error}
          </p>
        )}
        <div ref={end} />
      </div>
      <form onSubmit={ask} className="border-t border-slate-200 p-3">
        {context && (
          <p className="mb-1 text-xs text-slate-600" data-testid="ai-chat-context">
            About this {context.kind} (#{context.id})
          </p>
        )}
        <textarea
          aria-label="Your question"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKey}
          rows={3}
          maxLength={4000}
          placeholder="Why did this run fail?"
          className="w-full resize-none rounded-md border border-slate-300 p-2 text-sm focus:border-violet-500 focus:outline-none"
        />
        <div className="mt-2 flex items-center justify-between">
          <span className="text-xs text-slate-600">Answers are AI-generated.</span>
          <Button type="submit" size="sm" variant="primary" loading={busy} disabled={!draft.trim()}>
            Send
          </Button>
        </div>
      </form>
    </aside>
  );
}

function Bubble({
  role,
  text,
  tools,
  streaming,
  testId,
}: {
  role: "user" | "assistant";
  text: string;
  tools: string[];
  streaming?: boolean;
  testId?: string;
}) {
  const mine = role === "user";
  return (
    <div className={cn("flex flex-col", mine ? "items-end" : "items-start")}>
      {tools.length > 0 && (
        <span className="mb-1 text-xs text-slate-600">
          {[...new Set(tools)].map((t) => toolLabels[t] ?? t).join(", ")}
        </span>
      )}
      <p
        data-testid={testId ?? `ai-chat-${role}`}
        className={cn(
          "max-w-[85%] whitespace-pre-wrap rounded-lg px-3 py-2",
          mine
            ? "bg-indigo-600 text-white"
            : "border border-violet-200 bg-violet-50 text-slate-900",
        )}
      >
        {text}
        {streaming && <span className="ml-0.5 animate-pulse">▍</span>}
      </p>
    </div>
  );
}
