import { createSseParser } from "@/shared/lib";

/** What the server sends while it answers. */
export type ChatEvent =
  | { type: "delta"; text: string }
  | { type: "tool"; name: string }
  | { type: "done"; messageId: number; toolsUsed: string[] }
  | { type: "error"; code: string; message: string };

/** One SSE message of the answer stream as a typed event (unknown ones are dropped). */
export function toChatEvent(event: string, data: string): ChatEvent | null {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return null;
  }
  switch (event) {
    case "delta":
      return typeof body.text === "string" ? { type: "delta", text: body.text } : null;
    case "tool":
      return typeof body.name === "string" ? { type: "tool", name: body.name } : null;
    case "done":
      return {
        type: "done",
        messageId: Number(body.messageId),
        toolsUsed: Array.isArray(body.toolsUsed) ? body.toolsUsed.map(String) : [],
      };
    case "error":
      return {
        type: "error",
        code: String(body.code ?? "error"),
        message: String(body.message ?? "The answer failed."),
      };
    default:
      return null;
  }
}

/** Reads an answer stream to its end, calling `onEvent` for each event. */
export async function readChatStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (e: ChatEvent) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parse = createSseParser();
  for (;;) {
    const { done, value } = await reader.read();
    const text = done ? decoder.decode() + "\n\n" : decoder.decode(value, { stream: true });
    for (const m of parse(text)) {
      const e = toChatEvent(m.event, m.data);
      if (e) onEvent(e);
    }
    if (done) return;
  }
}
