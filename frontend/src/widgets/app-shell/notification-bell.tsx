import * as Popover from "@radix-ui/react-dropdown-menu";
import { useNavigate } from "react-router";
import { useSession } from "@/shared/api";
import { cn, formatDateTime } from "@/shared/lib";
import { notificationKindLabel, useNotifications, useTaskEvents } from "@/entities/task";
import { useMarkNotificationsRead } from "@/features/mark-notifications-read";

/**
 * The header bell: the unread count, kept live by the task event stream
 * (one per tab, also feeding the boards), and the inbox with mark read / all read.
 */
export function NotificationBell() {
  const user = useSession((s) => s.user);
  useTaskEvents(!!user);
  const inbox = useNotifications();
  const mark = useMarkNotificationsRead();
  const navigate = useNavigate();
  const unread = inbox.data?.unread ?? 0;
  return (
    // Not modal: the rest of the page stays readable (and not aria-hidden) while it is open.
    <Popover.Root modal={false}>
      <Popover.Trigger
        className="relative grid h-8 w-8 place-items-center rounded-md text-slate-700 hover:bg-slate-100"
        aria-label={unread ? `Notifications, ${unread} unread` : "Notifications"}
        data-testid="notification-bell"
      >
        <svg
          viewBox="0 0 24 24"
          className="h-5 w-5"
          aria-hidden="true"
          fill="none"
          stroke="currentColor"
          strokeWidth="1.8"
        >
          <path d="M6 16V11a6 6 0 1 1 12 0v5l1.5 2h-15L6 16Z" />
          <path d="M10 20a2 2 0 0 0 4 0" />
        </svg>
        {unread > 0 && (
          <span
            className="absolute -right-0.5 -top-0.5 min-w-4 rounded-full bg-rose-600 px-1 text-center text-[10px] font-semibold leading-4 text-white"
            data-testid="unread-count"
          >
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </Popover.Trigger>
      <Popover.Portal>
        <Popover.Content
          align="end"
          sideOffset={6}
          className="z-50 w-96 rounded-lg border border-slate-200 bg-white text-sm shadow-lg"
          data-testid="notification-inbox"
        >
          <div className="flex items-center justify-between border-b border-slate-100 px-3 py-2">
            <span className="font-semibold text-slate-900">Notifications</span>
            <Popover.Item
              className="cursor-pointer rounded px-1.5 py-0.5 text-xs font-medium text-indigo-700 outline-none data-[disabled]:cursor-default data-[disabled]:text-slate-500 data-[highlighted]:bg-slate-100"
              disabled={!unread}
              onSelect={(e) => {
                e.preventDefault();
                mark.mutate({ all: true });
              }}
            >
              Mark all read
            </Popover.Item>
          </div>
          <div className="max-h-96 overflow-y-auto py-1">
            {!inbox.data?.items.length && (
              <p className="px-3 py-6 text-center text-slate-600">Nothing yet.</p>
            )}
            {inbox.data?.items.map((n) => (
              <Popover.Item
                key={n.id}
                className={cn(
                  "flex cursor-pointer gap-2 px-3 py-2 outline-none data-[highlighted]:bg-slate-100",
                  !n.readAt && "bg-indigo-50/60",
                )}
                data-testid="notification"
                data-kind={n.kind}
                onSelect={() => {
                  if (!n.readAt) mark.mutate({ ids: [n.id] });
                  if (n.taskId && user) navigate(`/${user.role}/tasks?task=${n.taskId}`);
                }}
              >
                <span
                  aria-hidden="true"
                  className={cn(
                    "mt-1.5 h-2 w-2 shrink-0 rounded-full",
                    n.readAt ? "bg-transparent" : "bg-indigo-600",
                  )}
                />
                <span className="min-w-0 flex-1">
                  <span className={cn("block text-slate-800", !n.readAt && "font-medium")}>
                    {n.title}
                  </span>
                  <span className="text-xs text-slate-600">
                    {notificationKindLabel(n.kind)} · {formatDateTime(n.createdAt)}
                    {!n.readAt && <span className="sr-only"> (unread)</span>}
                  </span>
                </span>
              </Popover.Item>
            ))}
          </div>
        </Popover.Content>
      </Popover.Portal>
    </Popover.Root>
  );
}
