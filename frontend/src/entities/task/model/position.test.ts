import { describe, expect, it } from "vitest";
import { byPosition, dropPosition, positionBetween, POSITION_STEP } from "./position";

const col = [
  { id: 1, position: 1024 },
  { id: 2, position: 2048 },
  { id: 3, position: 3072 },
];

describe("positionBetween", () => {
  it("handles missing neighbours", () => {
    expect(positionBetween(null, null)).toBe(POSITION_STEP);
    expect(positionBetween(null, 100)).toBe(100 - POSITION_STEP);
    expect(positionBetween(100, null)).toBe(100 + POSITION_STEP);
    expect(positionBetween(1, 2)).toBe(1.5);
  });
});

describe("dropPosition", () => {
  it("places a card from another column between its new neighbours", () => {
    expect(dropPosition(col, 9, 0)).toBe(0);
    expect(dropPosition(col, 9, 1)).toBe(1536);
    expect(dropPosition(col, 9, 3)).toBe(3072 + POSITION_STEP);
    expect(dropPosition([], 9, 0)).toBe(POSITION_STEP);
  });

  it("keeps the position when a card is dropped on its own slot", () => {
    expect(dropPosition(col, 2, 1)).toBe(2048);
    expect(dropPosition(col, 2, 2)).toBe(2048);
  });

  it("reorders within a column without counting the card itself", () => {
    // Card 1 dropped after card 2 (slot 2): between 2 and 3.
    expect(dropPosition(col, 1, 2)).toBe(2560);
    // Card 3 dropped at the top.
    expect(dropPosition(col, 3, 0)).toBe(0);
    // Card 1 dropped at the end.
    expect(dropPosition(col, 1, 3)).toBe(3072 + POSITION_STEP);
  });

  it("sorts cards by position, then id", () => {
    expect(
      byPosition([
        { id: 5, position: 2 },
        { id: 4, position: 2 },
        { id: 1, position: 3 },
      ]).map((c) => c.id),
    ).toEqual([4, 5, 1]);
  });
});
