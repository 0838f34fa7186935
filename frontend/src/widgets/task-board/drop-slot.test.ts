import { describe, expect, it } from "vitest";
import { markerAt, slotAt, type CardBox } from "./drop-slot";

// Three cards of 100 px with 8 px gaps, after 4 px of list padding.
const boxes: CardBox[] = [0, 1, 2].map((index) => ({ index, start: 4 + index * 108, size: 100 }));
const near = (y: number) => [...boxes].reverse().find((b) => b.start <= y) ?? boxes[0];
const card = (i: number) => boxes[i];

describe("slotAt", () => {
  it("drops before a card when the pointer is above its middle, after it below", () => {
    expect(slotAt(near(0), 0)).toBe(0);
    expect(slotAt(near(53), 53)).toBe(0);
    expect(slotAt(near(54), 54)).toBe(1);
    expect(slotAt(near(112), 112)).toBe(1);
    expect(slotAt(near(300), 300)).toBe(3);
  });

  it("drops into an empty column at slot 0", () => {
    expect(slotAt(undefined, 500)).toBe(0);
  });
});

describe("markerAt", () => {
  it("centres the marker in the gap above the slot's card, or below the last card", () => {
    expect(markerAt(card, 0, 3, 8)).toBe(0);
    expect(markerAt(card, 1, 3, 8)).toBe(108);
    expect(markerAt(card, 3, 3, 8)).toBe(4 + 2 * 108 + 100 + 4);
    expect(markerAt(card, 0, 0, 8)).toBe(0);
  });
});
