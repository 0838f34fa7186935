export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/**
 * Incremental Server-Sent Events parser: feed it text chunks, get complete
 * messages back. (EventSource cannot send an Authorization header.)
 */
export function createSseParser() {
  let buffer = "";
  let id: string | null = null;
  let event = "";
  let data: string[] = [];
  return (chunk: string): SseMessage[] => {
    buffer += chunk;
    const out: SseMessage[] = [];
    let nl: number;
    while ((nl = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(buffer[nl] === "\r" ? nl + 2 : nl + 1);
      if (line === "") {
        if (data.length) out.push({ id, event: event || "message", data: data.join("\n") });
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id") id = value;
    }
    return out;
  };
}
