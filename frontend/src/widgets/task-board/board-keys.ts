/** Where keyboard focus goes on the board: column and row of the focused card. */
export interface Cell {
  col: number;
  row: number;
}

export type BoardKeyAction =
  { kind: "focus"; cell: Cell } | { kind: "move"; toCol: number } | { kind: "open" } | null;

/**
 * Board keyboard map (pure, unit-tested): arrows move focus between cards
 * (left/right keep the row when the next column is long enough, skipping
 * empty columns), `m` or Shift+→ moves the card to the next column,
 * Shift+← to the previous one, Enter opens it.
 */
export function boardKey(key: string, shift: boolean, at: Cell, lengths: number[]): BoardKeyAction {
  const last = lengths.length - 1;
  if ((key === "m" && !shift) || (key === "ArrowRight" && shift))
    return at.col < last ? { kind: "move", toCol: at.col + 1 } : null;
  if (key === "ArrowLeft" && shift) return at.col > 0 ? { kind: "move", toCol: at.col - 1 } : null;
  if (key === "Enter") return { kind: "open" };
  if (key === "ArrowDown")
    return at.row < (lengths[at.col] ?? 0) - 1
      ? { kind: "focus", cell: { ...at, row: at.row + 1 } }
      : null;
  if (key === "ArrowUp")
    return at.row > 0 ? { kind: "focus", cell: { ...at, row: at.row - 1 } } : null;
  if (key === "ArrowRight" || key === "ArrowLeft") {
    const step = key === "ArrowRight" ? 1 : -1;
    for (let c = at.col + step; c >= 0 && c <= last; c += step) {
      const len = lengths[c] ?? 0;
      if (len > 0) return { kind: "focus", cell: { col: c, row: Math.min(at.row, len - 1) } };
    }
    return null;
  }
  return null;
}
