import { describe, expect, it } from "vitest";
import { readChatStream, type ChatEvent } from "./stream";

function streamOf(parts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

describe("readChatStream", () => {
  it("turns the server's events into typed events, whatever the chunking", async () => {
    const seen: ChatEvent[] = [];
    await readChatStream(
      streamOf([
        'event: delta\ndata: {"text":"Hel',
        'lo"}\n\nevent: tool\ndata: {"name":"get_run_status"}\n\n',
        ': keep-alive\n\nevent: delta\ndata: {"text":" <b>x</b>"}\n\n',
        'event: done\ndata: {"messageId":9,"toolsUsed":["get_run_status"]}\n\n',
      ]),
      (e) => seen.push(e),
    );
    expect(seen).toEqual([
      { type: "delta", text: "Hello" },
      { type: "tool", name: "get_run_status" },
      { type: "delta", text: " <b>x</b>" },
      { type: "done", messageId: 9, toolsUsed: ["get_run_status"] },
    ]);
  });

  it("reports an error event and ignores unknown ones", async () => {
    const seen: ChatEvent[] = [];
    await readChatStream(
      streamOf([
        'event: other\ndata: {}\n\nevent: error\ndata: {"code":"ai_timeout","message":"slow"}',
      ]),
      (e) => seen.push(e),
    );
    expect(seen).toEqual([{ type: "error", code: "ai_timeout", message: "slow" }]);
  });
});
