import { describe, expect, it } from "vitest";
import { kindColors, linePath, previewLayout, previewViewBox, PREVIEW_NODE } from "./preview";

const node = (id: string, x: number, y: number, name = "csv.read") => ({
  id,
  template: { name, version: 1 },
  position: { x, y },
});

describe("previewLayout", () => {
  it("moves the graph to the origin with padding and sizes the view to fit", () => {
    const layout = previewLayout({
      nodes: [node("a", 0, 80), node("b", 260, -60, "flow.approval")],
      edges: [{ id: "e1", source: "a", sourcePort: "x", target: "b", targetPort: "y" }],
    });
    expect(layout.boxes).toEqual([
      { id: "a", x: 24, y: 164, ...PREVIEW_NODE, kind: "csv.read" },
      { id: "b", x: 284, y: 24, ...PREVIEW_NODE, kind: "flow.approval" },
    ]);
    expect(layout.width).toBe(284 + PREVIEW_NODE.width + 24);
    expect(layout.height).toBe(164 + PREVIEW_NODE.height + 24);
    expect(layout.lines).toEqual([
      {
        id: "e1",
        x1: 24 + PREVIEW_NODE.width,
        y1: 164 + PREVIEW_NODE.height / 2,
        x2: 284,
        y2: 24 + PREVIEW_NODE.height / 2,
      },
    ]);
  });

  it("leaves out nodes without a position and edges to missing nodes", () => {
    const layout = previewLayout({
      nodes: [node("a", 0, 0), { id: "b" }, { position: { x: 1, y: 1 } }],
      edges: [
        { source: "a", target: "b" },
        { source: "a", target: "a" },
      ],
    });
    expect(layout.boxes.map((b) => b.id)).toEqual(["a"]);
    expect(layout.lines).toHaveLength(1);
    expect(layout.lines[0]!.id).toBe("edge-1");
  });

  it("draws nothing for an empty or malformed graph", () => {
    for (const g of [undefined, null, {}, { nodes: "x" }, { nodes: [] }])
      expect(previewLayout(g)).toEqual({ width: 0, height: 0, boxes: [], lines: [] });
  });
});

describe("linePath", () => {
  it("bends at least 40 units out of each port", () => {
    expect(linePath({ id: "e", x1: 0, y1: 0, x2: 10, y2: 20 })).toBe("M 0 0 C 40 0, -30 20, 10 20");
  });
});

describe("previewViewBox", () => {
  it("centres a small graph in the minimum view", () => {
    expect(previewViewBox({ width: 500, height: 100 }, { width: 1000, height: 300 })).toBe(
      "-250 -100 1000 300",
    );
  });

  it("keeps a large graph as it is", () => {
    expect(previewViewBox({ width: 2000, height: 400 }, { width: 1000, height: 300 })).toBe(
      "0 0 2000 400",
    );
  });
});

describe("kindColors", () => {
  it("tells flow nodes apart and draws library nodes alike", () => {
    expect(kindColors("flow.approval")).not.toEqual(kindColors("flow.condition"));
    expect(kindColors("csv.read")).toEqual(kindColors("table.filter"));
  });
});
