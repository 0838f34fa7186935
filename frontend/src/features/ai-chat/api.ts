import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, authFetch, toApiError, unwrap, type Schemas } from "@/shared/api";
import type { PageContext } from "./model/context";
import { readChatStream, type ChatEvent } from "./model/stream";

export type Conversation = Schemas["Conversation"];
export type ChatMessage = Schemas["ChatMessage"];

export const chatKeys = {
  all: ["ai", "conversations"] as const,
  one: (id: number) => ["ai", "conversations", id] as const,
};

export function useConversations(enabled: boolean) {
  return useQuery({
    queryKey: chatKeys.all,
    queryFn: () => unwrap(api.GET("/api/ai/conversations")),
    enabled,
  });
}

export function useConversation(id: number | null) {
  return useQuery({
    queryKey: chatKeys.one(id ?? 0),
    queryFn: () =>
      unwrap(api.GET("/api/ai/conversations/{id}", { params: { path: { id: id ?? 0 } } })),
    enabled: id != null,
  });
}

export function useCreateConversation() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/ai/conversations", { body: {} })),
    onSuccess: () => qc.invalidateQueries({ queryKey: chatKeys.all }),
  });
}

export function useDeleteConversation() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/ai/conversations/{id}", { params: { path: { id } } })),
    onSuccess: (_d, id) => {
      qc.removeQueries({ queryKey: chatKeys.one(id) });
      return qc.invalidateQueries({ queryKey: chatKeys.all });
    },
  });
}

/**
 * Asks in a conversation and reads the streamed answer; `onEvent` gets its
 * pieces as they arrive. Errors before the stream (404, 422, 429, 503)
 * are thrown as the API's errors.
 */
export async function sendMessage(
  id: number,
  content: string,
  context: PageContext | null,
  onEvent: (e: ChatEvent) => void,
): Promise<void> {
  const res = await authFetch(
    new Request(`/api/ai/conversations/${id}/messages`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(context ? { content, context } : { content }),
    }),
  );
  if (!res.ok || !res.body) {
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    throw toApiError(res, body);
  }
  await readChatStream(res.body, onEvent);
}
