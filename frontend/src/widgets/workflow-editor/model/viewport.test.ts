import { describe, expect, it } from "vitest";
import { boxesInView, pinnedBottomRight } from "./viewport";

const card = (x: number, y: number) => ({ x, y, width: 224, height: 90 });

describe("boxes in view", () => {
  it("holds when every card lies inside the canvas at the viewport", () => {
    const view = { x: 40, y: 20, zoom: 0.5 };
    expect(boxesInView([card(0, 0), card(1000, 600)], view, 700, 400)).toBe(true);
    // The canvas loses 100 px of height: the lower card's bottom falls out.
    expect(boxesInView([card(0, 0), card(1000, 600)], view, 700, 300)).toBe(false);
  });

  it("fails for a card left of or above the canvas", () => {
    expect(boxesInView([card(-100, 0)], { x: 0, y: 0, zoom: 1 }, 800, 600)).toBe(false);
    expect(boxesInView([card(0, -10)], { x: 0, y: 0, zoom: 1 }, 800, 600)).toBe(false);
    expect(boxesInView([], { x: 0, y: 0, zoom: 1 }, 800, 600)).toBe(true);
  });

  it("fails for a card under the minimap, which keeps its distance from the corner", () => {
    const minimap = { right: 215, bottom: 165, width: 200, height: 150 };
    const view = { x: 0, y: 0, zoom: 1 };
    const lowRight = card(560, 300);
    expect(boxesInView([lowRight], view, 800, 700, [pinnedBottomRight(minimap, 800, 700)])).toBe(
      true,
    );
    // The run panel takes 300 px: the minimap moves up onto the card.
    expect(pinnedBottomRight(minimap, 800, 400)).toEqual({
      x: 585,
      y: 235,
      width: 200,
      height: 150,
    });
    expect(boxesInView([lowRight], view, 800, 400, [pinnedBottomRight(minimap, 800, 400)])).toBe(
      false,
    );
  });
});
