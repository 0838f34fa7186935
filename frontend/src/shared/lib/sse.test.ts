import { describe, expect, it } from "vitest";
import { createSseParser } from "./sse";

describe("createSseParser", () => {
  it("parses events split across chunks, with ids and comments", () => {
    const feed = createSseParser();
    expect(feed(': keep-alive\n\nid: 1\nevent: node\ndata: {"a"')).toEqual([]);
    expect(feed(":1}\n\nid: 2\nevent: run\ndata: x\ndata: y\n\n")).toEqual([
      { id: "1", event: "node", data: '{"a":1}' },
      { id: "2", event: "run", data: "x\ny" },
    ]);
  });
  it("defaults the event name and handles CRLF", () => {
    expect(createSseParser()("data: hi\r\n\r\n")).toEqual([
      { id: null, event: "message", data: "hi" },
    ]);
  });
});
