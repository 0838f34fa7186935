import { useLayoutEffect, useRef, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/shared/api";
import { Button } from "@/shared/ui";
import { cn } from "@/shared/lib";
import { taskKeys } from "@/entities/task";
import { insertMention, mentionAt } from "./mention";

export { insertMention, mentionAt } from "./mention";

export interface MentionCandidate {
  id: number;
  username: string;
  name: string;
}

export function useAddComment(taskId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: string) =>
      unwrap(
        api.POST("/api/tasks/{id}/comments", { params: { path: { id: taskId } }, body: { body } }),
      ),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: taskKeys.comments(taskId) });
      void qc.invalidateQueries({ queryKey: taskKeys.activity(taskId) });
    },
  });
}

/** Edits the signed-in user's own comment; the server keeps the old text. */
export function useEditComment(taskId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: number; body: string }) =>
      unwrap(api.PATCH("/api/comments/{id}", { params: { path: { id } }, body: { body } })),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: taskKeys.comments(taskId) });
      void qc.invalidateQueries({ queryKey: taskKeys.activity(taskId) });
    },
  });
}

export function useDeleteComment(taskId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/comments/{id}", { params: { path: { id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: taskKeys.comments(taskId) }),
  });
}

/**
 * A Markdown comment box; typing `@` suggests people (arrows choose, Enter or
 * Tab inserts, Escape closes). Ctrl/Cmd+Enter posts.
 */
export function CommentForm({ taskId, people }: { taskId: number; people: MentionCandidate[] }) {
  const [text, setText] = useState("");
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<number | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  // Where the caret goes once a chosen mention is in the box: placed right
  // after React writes the text, before the next keystroke is handled (a
  // later frame could move it back behind what was typed meanwhile).
  const caretAfterMention = useRef<number | null>(null);
  useLayoutEffect(() => {
    const at = caretAfterMention.current;
    if (at === null) return;
    caretAfterMention.current = null;
    ref.current?.focus();
    ref.current?.setSelectionRange(at, at);
  }, [text]);
  const add = useAddComment(taskId);
  const mention = mentionAt(text, caret);
  const matches =
    mention && dismissed !== mention.start
      ? people
          .filter((p) =>
            `${p.username} ${p.name}`.toLowerCase().includes(mention.query.toLowerCase()),
          )
          .slice(0, 6)
      : [];
  const open = matches.length > 0;

  const choose = (p: MentionCandidate) => {
    if (!mention) return;
    const next = insertMention(text, mention.start, caret, p.username);
    caretAfterMention.current = next.caret;
    setText(next.text);
    setCaret(next.caret);
  };
  const submit = () => {
    if (!text.trim()) return;
    add.mutate(text, { onSuccess: () => setText("") });
  };

  return (
    <form
      className="relative space-y-2"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <textarea
        ref={ref}
        className="min-h-20 w-full rounded-md border border-slate-300 px-2.5 py-2 text-sm"
        placeholder="Write a comment… (Markdown, @ to mention)"
        aria-label="Comment"
        role="combobox"
        aria-expanded={open}
        aria-controls="mention-list"
        aria-autocomplete="list"
        aria-activedescendant={open ? `mention-${matches[active]?.id}` : undefined}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setCaret(e.target.selectionStart);
          setActive(0);
        }}
        onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
        onKeyDown={(e) => {
          if (open) {
            if (e.key === "ArrowDown" || e.key === "ArrowUp") {
              e.preventDefault();
              const d = e.key === "ArrowDown" ? 1 : -1;
              setActive((a) => (a + d + matches.length) % matches.length);
              return;
            }
            if (e.key === "Enter" || e.key === "Tab") {
              e.preventDefault();
              choose(matches[active] ?? matches[0]!);
              return;
            }
            if (e.key === "Escape") {
              e.preventDefault();
              e.stopPropagation();
              setDismissed(mention!.start);
              return;
            }
          }
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            submit();
          }
        }}
      />
      {open && (
        <ul
          id="mention-list"
          role="listbox"
          aria-label="People"
          className="absolute left-2 top-full z-20 -mt-10 w-64 rounded-md border border-slate-200 bg-white py-1 text-sm shadow-lg"
        >
          {matches.map((p, i) => (
            <li
              key={p.id}
              id={`mention-${p.id}`}
              role="option"
              aria-selected={i === active}
              className={cn(
                "flex cursor-pointer gap-2 px-2.5 py-1",
                i === active ? "bg-indigo-50 text-indigo-800" : "text-slate-700",
              )}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(p);
              }}
            >
              <span className="font-medium">{p.name}</span>
              <span className="text-slate-600">@{p.username}</span>
            </li>
          ))}
        </ul>
      )}
      <div className="flex justify-end">
        <Button type="submit" size="sm" variant="primary" disabled={!text.trim() || add.isPending}>
          Comment
        </Button>
      </div>
    </form>
  );
}
