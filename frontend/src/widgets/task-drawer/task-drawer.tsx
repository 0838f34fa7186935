import { useEffect, useState, type ReactNode } from "react";
import * as D from "@radix-ui/react-dialog";
import { useSession } from "@/shared/api";
import { Markdown } from "@/shared/markdown";
import { Button, ErrorState, LoadingState, toast } from "@/shared/ui";
import { useApproval } from "@/entities/approval";
import { ApprovalPanel } from "@/features/approval-decision";
import { cn, formatDateTime } from "@/shared/lib";
import {
  Avatar,
  priorities,
  priorityLabels,
  SlaBadge,
  useTask,
  useTaskActivity,
  useTaskAttachments,
  useTaskComments,
  useTaskWorkflow,
  type Priority,
  type Task,
  type TaskComment,
} from "@/entities/task";
import type { Person } from "@/entities/user";
import { useEditTask, useSetWatching, type TaskChanges } from "@/features/edit-task";
import { useMoveTask } from "@/features/move-task";
import { AiSummary } from "@/features/ai-summary";
import { CommentForm, useDeleteComment, useEditComment } from "@/features/comment-task";
import {
  AttachmentDropzone,
  downloadAttachment,
  useDeleteAttachment,
} from "@/features/upload-attachment";

/**
 * The task detail drawer: fields (editable by admins and managers; a client
 * may only change the status), the description in Markdown with a preview,
 * comments with @mentions, attachments and the activity timeline.
 */
export function TaskDrawer({
  taskId,
  onClose,
  people,
}: {
  taskId: number | null;
  onClose: () => void;
  people: { list: Person[]; name: (id: number) => string };
}) {
  const task = useTask(taskId);
  return (
    <D.Root open={taskId != null} onOpenChange={(o) => !o && onClose()}>
      <D.Portal>
        <D.Overlay className="fixed inset-0 z-40 bg-slate-900/30" />
        <D.Content
          className="fixed inset-y-0 right-0 z-50 flex w-full max-w-2xl flex-col overflow-y-auto bg-white shadow-2xl focus:outline-none"
          data-testid="task-drawer"
          aria-describedby={undefined}
        >
          {task.error ? (
            <div className="p-6">
              <D.Title className="sr-only">Task</D.Title>
              <ErrorState error={task.error} />
            </div>
          ) : !task.data ? (
            <>
              <D.Title className="sr-only">Task</D.Title>
              <LoadingState />
            </>
          ) : (
            <TaskDetails key={task.data.id} task={task.data} people={people} onClose={onClose} />
          )}
        </D.Content>
      </D.Portal>
    </D.Root>
  );
}

function TaskDetails({
  task,
  people,
  onClose,
}: {
  task: Task;
  people: { list: Person[]; name: (id: number) => string };
  onClose: () => void;
}) {
  const role = useSession((s) => s.user?.role);
  const canEdit = role === "admin" || role === "manager";
  const workflow = useTaskWorkflow();
  const edit = useEditTask();
  const move = useMoveTask();
  const save = (changes: TaskChanges) => edit.mutate({ task, changes });
  const [title, setTitle] = useState(task.title);
  useEffect(() => setTitle(task.title), [task.title]);

  return (
    <div className="flex flex-col gap-5 p-6">
      <div className="flex items-start gap-3">
        <div className="min-w-0 flex-1">
          <p className="font-mono text-xs text-slate-600">{task.key}</p>
          <D.Title asChild>
            {canEdit ? (
              <input
                className="mt-1 w-full rounded border border-transparent px-1 text-lg font-semibold text-slate-900 hover:border-slate-300 focus:border-indigo-500"
                aria-label="Title"
                value={title}
                onChange={(e) => setTitle(e.target.value)}
                onBlur={() => title.trim() && title !== task.title && save({ title: title.trim() })}
                onKeyDown={(e) => e.key === "Enter" && e.currentTarget.blur()}
              />
            ) : (
              <h2 className="mt-1 text-lg font-semibold text-slate-900">{task.title}</h2>
            )}
          </D.Title>
        </div>
        <WatchButton task={task} />
        <D.Close asChild>
          <Button size="sm" variant="ghost" aria-label="Close">
            ✕
          </Button>
        </D.Close>
      </div>

      <dl className="grid grid-cols-[8rem_1fr] items-center gap-x-3 gap-y-2 text-sm">
        <dt className="text-slate-600">Status</dt>
        <dd>
          <select
            className="rounded border border-slate-300 px-2 py-1"
            aria-label="Status"
            value={task.statusId}
            onChange={(e) =>
              move.mutate({ task, statusId: Number(e.target.value), position: task.position })
            }
          >
            {workflow.data?.statuses.map((s) => (
              <option key={s.id} value={s.id ?? 0}>
                {s.name}
              </option>
            ))}
          </select>
        </dd>
        <dt className="text-slate-600">Priority</dt>
        <dd>
          <select
            className="rounded border border-slate-300 px-2 py-1"
            aria-label="Priority"
            disabled={!canEdit}
            value={task.priority}
            onChange={(e) => save({ priority: e.target.value as Priority })}
          >
            {priorities.map((p) => (
              <option key={p} value={p}>
                {priorityLabels[p]}
              </option>
            ))}
          </select>
        </dd>
        <dt className="text-slate-600">SLA / due</dt>
        <dd className="flex items-center gap-2">
          <SlaBadge task={task} />
          <input
            type="date"
            aria-label="Due date"
            className="rounded border border-slate-300 px-2 py-0.5"
            disabled={!canEdit}
            value={task.dueAt ? task.dueAt.slice(0, 10) : ""}
            onChange={(e) =>
              save({
                dueAt: e.target.value ? new Date(`${e.target.value}T17:00:00`).toISOString() : null,
              })
            }
          />
        </dd>
        <dt className="text-slate-600">Assignees</dt>
        <dd>
          <Assignees
            task={task}
            people={people}
            canEdit={canEdit}
            onChange={(ids) => save({ assigneeIds: ids })}
          />
        </dd>
        <dt className="text-slate-600">Watchers</dt>
        <dd className="text-slate-700" data-testid="watchers">
          {task.watcherIds?.length ? task.watcherIds.map(people.name).join(", ") : "Nobody"}
        </dd>
        <dt className="text-slate-600">Tags</dt>
        <dd>
          <TagsField tags={task.tags} canEdit={canEdit} onChange={(tags) => save({ tags })} />
        </dd>
      </dl>

      {task.source.kind === "approval" && task.source.refId != null && (
        <TaskApproval approvalId={task.source.refId} />
      )}

      <AiSummary kind="task" id={task.id} label="Summarize this task" />

      <Section title="Description">
        <DescriptionEditor
          value={task.description}
          canEdit={canEdit}
          onSave={(description) => save({ description })}
        />
      </Section>

      <Section title="Attachments">
        <Attachments taskId={task.id} />
      </Section>

      <Section title="Comments">
        <Comments taskId={task.id} people={people} />
      </Section>

      <Section title="Activity">
        <Activity
          taskId={task.id}
          name={people.name}
          statusName={(id) => workflow.data?.statuses.find((s) => String(s.id) === id)?.name}
        />
      </Section>
      <p className="text-xs text-slate-600">
        Created {formatDateTime(task.createdAt)} by {people.name(task.reporterId)} · updated{" "}
        {formatDateTime(task.updatedAt)}
        <button type="button" className="sr-only" onClick={onClose}>
          Close
        </button>
      </p>
    </div>
  );
}

/** The decision an approval task stands for, with the run it holds up. */
function TaskApproval({ approvalId }: { approvalId: number }) {
  const role = useSession((s) => s.user?.role);
  const approval = useApproval(approvalId);
  if (approval.isPending) return <LoadingState label="Loading the approval…" />;
  if (approval.isError)
    return <ErrorState error={approval.error} onRetry={() => approval.refetch()} />;
  const runId = approval.data.runId;
  return (
    <ApprovalPanel
      approval={approval.data}
      target={{ approvalId }}
      runHref={role ? `/${role}/runs/${runId}` : undefined}
    />
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section aria-label={title}>
      <h3 className="mb-2 text-sm font-semibold text-slate-800">{title}</h3>
      {children}
    </section>
  );
}

function Assignees({
  task,
  people,
  canEdit,
  onChange,
}: {
  task: Task;
  people: { list: Person[]; name: (id: number) => string };
  canEdit: boolean;
  onChange: (ids: number[]) => void;
}) {
  const candidates = people.list.filter((p) => !task.assigneeIds.includes(p.id));
  return (
    <div className="flex flex-wrap items-center gap-2">
      {task.assigneeIds.map((id) => (
        <span
          key={id}
          className="flex items-center gap-1 rounded-full bg-slate-100 py-0.5 pl-0.5 pr-2 text-xs"
        >
          <Avatar id={id} name={people.name(id)} />
          {people.name(id)}
          {canEdit && (
            <button
              type="button"
              aria-label={`Unassign ${people.name(id)}`}
              className="ml-1 text-slate-600 hover:text-rose-700"
              onClick={() => onChange(task.assigneeIds.filter((x) => x !== id))}
            >
              ✕
            </button>
          )}
        </span>
      ))}
      {!task.assigneeIds.length && <span className="text-slate-600">Nobody</span>}
      {canEdit && candidates.length > 0 && (
        <select
          className="rounded border border-slate-300 px-1.5 py-0.5 text-xs"
          aria-label="Add assignee"
          value=""
          onChange={(e) =>
            e.target.value && onChange([...task.assigneeIds, Number(e.target.value)])
          }
        >
          <option value="">+ Assign…</option>
          {candidates.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name} ({p.role})
            </option>
          ))}
        </select>
      )}
    </div>
  );
}

function TagsField({
  tags,
  canEdit,
  onChange,
}: {
  tags: string[];
  canEdit: boolean;
  onChange: (t: string[]) => void;
}) {
  const [text, setText] = useState(tags.join(", "));
  useEffect(() => setText(tags.join(", ")), [tags]);
  if (!canEdit)
    return <span className="text-slate-700">{tags.length ? tags.join(", ") : "—"}</span>;
  return (
    <input
      className="w-full rounded border border-slate-300 px-2 py-1"
      aria-label="Tags"
      placeholder="comma, separated"
      value={text}
      onChange={(e) => setText(e.target.value)}
      onBlur={() => {
        const next = [
          ...new Set(
            text
              .split(",")
              .map((t) => t.trim())
              .filter(Boolean),
          ),
        ];
        if (next.join(",") !== tags.join(",")) onChange(next);
      }}
    />
  );
}

function DescriptionEditor({
  value,
  canEdit,
  onSave,
}: {
  value: string;
  canEdit: boolean;
  onSave: (v: string) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [preview, setPreview] = useState(false);
  const [text, setText] = useState(value);
  if (!editing)
    return (
      <div className="space-y-2">
        {value ? (
          <Markdown source={value} className="rounded-md bg-slate-50 p-3" />
        ) : (
          <p className="text-sm text-slate-600">No description.</p>
        )}
        {canEdit && (
          <Button
            size="sm"
            onClick={() => {
              setText(value);
              setEditing(true);
            }}
          >
            Edit description
          </Button>
        )}
      </div>
    );
  return (
    <div className="space-y-2">
      <div className="flex gap-1 text-xs" role="group" aria-label="Description mode">
        {(["Write", "Preview"] as const).map((m) => (
          <button
            key={m}
            type="button"
            aria-pressed={preview === (m === "Preview")}
            className={cn(
              "rounded px-2 py-1",
              preview === (m === "Preview")
                ? "bg-indigo-50 font-medium text-indigo-800"
                : "text-slate-700",
            )}
            onClick={() => setPreview(m === "Preview")}
          >
            {m}
          </button>
        ))}
      </div>
      {preview ? (
        <Markdown source={text} className="min-h-24 rounded-md border border-slate-200 p-3" />
      ) : (
        <textarea
          className="min-h-32 w-full rounded-md border border-slate-300 p-2 font-mono text-sm"
          aria-label="Description (Markdown)"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      )}
      <div className="flex gap-2">
        <Button
          size="sm"
          variant="primary"
          onClick={() => {
            onSave(text);
            setEditing(false);
          }}
        >
          Save description
        </Button>
        <Button size="sm" variant="ghost" onClick={() => setEditing(false)}>
          Cancel
        </Button>
      </div>
    </div>
  );
}

function Attachments({ taskId }: { taskId: number }) {
  const list = useTaskAttachments(taskId);
  const me = useSession((s) => s.user);
  const remove = useDeleteAttachment(taskId);
  return (
    <div className="space-y-2">
      <ul className="space-y-1 text-sm" data-testid="attachments">
        {list.data?.map((a) => (
          <li key={a.id} className="flex items-center gap-2">
            <button
              type="button"
              className="text-indigo-700 underline"
              onClick={() => downloadAttachment(a.id, a.name).catch(toast.error)}
            >
              {a.name}
            </button>
            <span className="text-xs text-slate-600">
              {a.contentType} · {(a.size / 1024).toFixed(1)} KiB
            </span>
            {(a.uploadedBy === me?.id || me?.role !== "client") && (
              <button
                type="button"
                className="text-xs text-rose-700 underline"
                aria-label={`Delete ${a.name}`}
                onClick={() => {
                  if (window.confirm(`Delete ${a.name}?`))
                    remove.mutate(a.id, { onError: (e) => toast.error(e) });
                }}
              >
                Delete
              </button>
            )}
          </li>
        ))}
      </ul>
      <AttachmentDropzone taskId={taskId} />
    </div>
  );
}

function Comments({
  taskId,
  people,
}: {
  taskId: number;
  people: { list: Person[]; name: (id: number) => string };
}) {
  const comments = useTaskComments(taskId);
  return (
    <div className="space-y-3">
      <ol className="space-y-3" data-testid="comments">
        {comments.data?.map((c) => (
          <CommentItem key={c.id} comment={c} taskId={taskId} name={people.name} />
        ))}
      </ol>
      <CommentForm taskId={taskId} people={people.list} />
    </div>
  );
}

function Activity({
  taskId,
  name,
  statusName,
}: {
  taskId: number;
  name: (id: number) => string;
  statusName: (id: string) => string | undefined;
}) {
  const activity = useTaskActivity(taskId);
  const show = (field: string, v?: string | null) =>
    v == null || v === ""
      ? "—"
      : field === "status" || field === "statusId"
        ? (statusName(v) ?? v)
        : v;
  return (
    <ol
      className="space-y-1.5 border-l border-slate-200 pl-3 text-xs text-slate-700"
      data-testid="activity"
    >
      {activity.data?.map((a) => (
        <li key={a.id}>
          <span className="text-slate-600">{formatDateTime(a.at)}</span>{" "}
          <span className="font-medium">{a.actorId ? name(a.actorId) : "system"}</span> changed{" "}
          <span className="font-medium">{a.field}</span>: {show(a.field, a.oldValue)} →{" "}
          {show(a.field, a.newValue)}
        </li>
      ))}
    </ol>
  );
}

function WatchButton({ task }: { task: Task }) {
  const me = useSession((s) => s.user?.id);
  const set = useSetWatching();
  const watching = !!me && !!task.watcherIds?.includes(me);
  return (
    <Button
      size="sm"
      variant="ghost"
      aria-pressed={watching}
      disabled={set.isPending}
      onClick={() =>
        set.mutate({ id: task.id, watch: !watching }, { onError: (e) => toast.error(e) })
      }
    >
      {watching ? "Watching ✓" : "Watch"}
    </Button>
  );
}

function CommentItem({
  comment: c,
  taskId,
  name,
}: {
  comment: TaskComment;
  taskId: number;
  name: (id: number) => string;
}) {
  const me = useSession((s) => s.user);
  const edit = useEditComment(taskId);
  const remove = useDeleteComment(taskId);
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(c.body);
  const own = me?.id === c.authorId;
  return (
    <li className="flex gap-2" data-testid="comment">
      <Avatar id={c.authorId} name={name(c.authorId)} size="md" />
      <div className="min-w-0 flex-1 rounded-md bg-slate-50 p-2">
        <p className="flex flex-wrap items-center gap-1 text-xs text-slate-600">
          <span className="font-medium text-slate-800">{name(c.authorId)}</span> ·{" "}
          {formatDateTime(c.createdAt)}
          {c.history.length > 0 && (
            <span title={`Edited ${formatDateTime(c.updatedAt)}`} data-testid="comment-edited">
              · edited
            </span>
          )}
          {own && !editing && (
            <span className="ml-auto flex gap-2">
              <button
                type="button"
                className="text-indigo-700 underline"
                onClick={() => {
                  setText(c.body);
                  setEditing(true);
                }}
              >
                Edit
              </button>
              {/* Admins may delete any comment on the server; the UI offers only one's own. */}
              <button
                type="button"
                className="text-rose-700 underline"
                onClick={() => {
                  if (window.confirm("Delete this comment?"))
                    remove.mutate(c.id, { onError: (e) => toast.error(e) });
                }}
              >
                Delete
              </button>
            </span>
          )}
        </p>
        {editing ? (
          <div className="mt-1 space-y-1">
            <textarea
              className="min-h-20 w-full rounded-md border border-slate-300 p-2 text-sm"
              aria-label="Edit comment"
              value={text}
              onChange={(e) => setText(e.target.value)}
            />
            <div className="flex gap-2">
              <Button
                size="sm"
                variant="primary"
                disabled={!text.trim() || edit.isPending}
                onClick={() =>
                  edit.mutate(
                    { id: c.id, body: text },
                    { onSuccess: () => setEditing(false), onError: (e) => toast.error(e) },
                  )
                }
              >
                Save comment
              </Button>
              <Button size="sm" variant="ghost" onClick={() => setEditing(false)}>
                Cancel
              </Button>
            </div>
          </div>
        ) : (
          <Markdown source={c.body} />
        )}
      </div>
    </li>
  );
}
