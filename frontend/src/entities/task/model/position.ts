/** The gap given to a card dropped after the last one (or into an empty column). */
export const POSITION_STEP = 1024;

export interface Positioned {
  id: number;
  position: number;
}

/** A position strictly between two neighbours (either may be missing). */
export function positionBetween(before: number | null, after: number | null): number {
  if (before == null && after == null) return POSITION_STEP;
  if (before == null) return after! - POSITION_STEP;
  if (after == null) return before + POSITION_STEP;
  return (before + after) / 2;
}

/**
 * The position for `cardId` dropped at `index` of `column` (the column's cards
 * in board order, possibly including the card itself when it is reordered
 * within its column). `index` counts slots in the column as shown, so
 * dropping a card onto its own slot keeps its position.
 */
export function dropPosition(column: Positioned[], cardId: number, index: number): number {
  const from = column.findIndex((c) => c.id === cardId);
  if (from >= 0 && (index === from || index === from + 1)) return column[from]!.position;
  const others = column.filter((c) => c.id !== cardId);
  const at = from >= 0 && index > from ? index - 1 : index;
  const clamped = Math.max(0, Math.min(at, others.length));
  const before = clamped > 0 ? others[clamped - 1]!.position : null;
  const after = clamped < others.length ? others[clamped]!.position : null;
  return positionBetween(before, after);
}

/** Cards of one column in board order. */
export function byPosition<T extends Positioned>(cards: T[]): T[] {
  return [...cards].sort((a, b) => a.position - b.position || a.id - b.id);
}
