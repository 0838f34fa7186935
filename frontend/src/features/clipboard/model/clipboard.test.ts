import { describe, expect, it } from "vitest";
import { graphOf } from "@/entities/workflow/testing";
import { copiedMessage, isClipboard, parseClipboard, toClipboard } from "./clipboard";

describe("clipboard format", () => {
  it("round-trips copied nodes through text", () => {
    const g = graphOf(["a", "text.upper"]);
    const clip = toClipboard(g);
    expect(clip.kind).toBe("katalusis/nodes");
    expect(parseClipboard(JSON.stringify(clip))).toEqual({ kind: "katalusis/nodes", ...g });
  });

  it("ignores empty, foreign and malformed data", () => {
    expect(parseClipboard(null)).toBeNull();
    expect(parseClipboard("")).toBeNull();
    expect(parseClipboard("not json")).toBeNull();
    expect(parseClipboard(JSON.stringify({ nodes: [], edges: [] }))).toBeNull();
    expect(parseClipboard(JSON.stringify({ kind: "katalusis/nodes", nodes: {} }))).toBeNull();
    expect(isClipboard(null)).toBe(false);
  });

  it("counts copied nodes in the message", () => {
    expect(copiedMessage(1)).toBe("Copied 1 node.");
    expect(copiedMessage(3)).toBe("Copied 3 nodes.");
  });
});
