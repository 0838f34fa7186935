import { describe, expect, it } from "vitest";
import { boardKey } from "./board-keys";

const lengths = [2, 0, 3, 1];

describe("boardKey", () => {
  it("moves focus with the arrows, skipping empty columns", () => {
    expect(boardKey("ArrowDown", false, { col: 0, row: 0 }, lengths)).toEqual({
      kind: "focus",
      cell: { col: 0, row: 1 },
    });
    expect(boardKey("ArrowDown", false, { col: 0, row: 1 }, lengths)).toBeNull();
    expect(boardKey("ArrowRight", false, { col: 0, row: 1 }, lengths)).toEqual({
      kind: "focus",
      cell: { col: 2, row: 1 },
    });
    expect(boardKey("ArrowRight", false, { col: 2, row: 2 }, lengths)).toEqual({
      kind: "focus",
      cell: { col: 3, row: 0 },
    });
    expect(boardKey("ArrowLeft", false, { col: 0, row: 0 }, lengths)).toBeNull();
  });

  it("moves the card to the next or previous column", () => {
    expect(boardKey("m", false, { col: 0, row: 0 }, lengths)).toEqual({ kind: "move", toCol: 1 });
    expect(boardKey("ArrowRight", true, { col: 2, row: 0 }, lengths)).toEqual({
      kind: "move",
      toCol: 3,
    });
    expect(boardKey("m", false, { col: 3, row: 0 }, lengths)).toBeNull();
    expect(boardKey("ArrowLeft", true, { col: 2, row: 0 }, lengths)).toEqual({
      kind: "move",
      toCol: 1,
    });
  });

  it("opens with Enter", () => {
    expect(boardKey("Enter", false, { col: 0, row: 0 }, lengths)).toEqual({ kind: "open" });
  });
});
