/** A rectangle: a node's box in flow coordinates, or a screen area of the canvas. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * Whether every box lies wholly inside a canvas of `width` × `height` at this
 * viewport, clear of the areas covered by overlays (the minimap), which are
 * given in canvas pixels.
 */
export function boxesInView(
  boxes: Box[],
  viewport: { x: number; y: number; zoom: number },
  width: number,
  height: number,
  covered: Box[] = [],
): boolean {
  const { x, y, zoom } = viewport;
  return boxes.every((b) => {
    const screen = {
      x: b.x * zoom + x,
      y: b.y * zoom + y,
      width: b.width * zoom,
      height: b.height * zoom,
    };
    return (
      screen.x >= 0 &&
      screen.y >= 0 &&
      screen.x + screen.width <= width &&
      screen.y + screen.height <= height &&
      !covered.some((c) => overlaps(screen, c))
    );
  });
}

/**
 * Where an overlay pinned to the canvas's bottom-right corner (the minimap)
 * sits in a canvas of another size: the same distance from that corner.
 */
export function pinnedBottomRight(
  overlay: { right: number; bottom: number; width: number; height: number },
  width: number,
  height: number,
): Box {
  return {
    x: width - overlay.right,
    y: height - overlay.bottom,
    width: overlay.width,
    height: overlay.height,
  };
}
