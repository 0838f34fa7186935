import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/shared/api";
import { taskKeys, type Inbox } from "@/entities/task";

/** Marks some notifications (or all) read; the count drops at once. */
export function useMarkNotificationsRead() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (which: { ids: number[] } | { all: true }) =>
      unwrap(api.POST("/api/notifications/read", { body: which })),
    onMutate: (which) => {
      qc.setQueryData<Inbox>(taskKeys.notifications, (inbox) => {
        if (!inbox) return inbox;
        const now = new Date().toISOString();
        const hit = (id: number) => "all" in which || which.ids.includes(id);
        const items = inbox.items.map((n) => (hit(n.id) && !n.readAt ? { ...n, readAt: now } : n));
        const newlyRead = inbox.items.filter((n) => hit(n.id) && !n.readAt).length;
        return {
          ...inbox,
          items,
          unread: "all" in which ? 0 : Math.max(0, inbox.unread - newlyRead),
        };
      });
    },
    onSettled: () => qc.invalidateQueries({ queryKey: taskKeys.notifications }),
  });
}
