/** A card's place in its column's list, in list (scroll content) coordinates. */
export interface CardBox {
  index: number;
  start: number;
  size: number;
}

/**
 * The slot under the pointer, `y` in list coordinates: before the first card
 * whose middle is below it. `near` is the card starting at or just above `y`
 * (the virtualizer finds it by binary search over its measurements), so a
 * drag over a column of hundreds of cards reads no layout at all.
 */
export function slotAt(near: CardBox | undefined, y: number): number {
  if (!near) return 0;
  return y < near.start + near.size / 2 ? near.index : near.index + 1;
}

/**
 * Where the drop marker's centre line goes for `slot`: in the middle of the
 * gap above that card, or below the last card.
 */
export function markerAt(
  card: (index: number) => CardBox | undefined,
  slot: number,
  count: number,
  gap: number,
): number {
  if (count === 0) return 0;
  if (slot >= count) {
    const last = card(count - 1);
    return last ? last.start + last.size + gap / 2 : 0;
  }
  const at = card(Math.max(0, slot));
  return at ? at.start - gap / 2 : 0;
}
