import { hasModKey } from "@/shared/lib";

export type EditorCommand =
  "undo" | "redo" | "copy" | "paste" | "duplicate" | "selectAll" | "delete" | "save" | "escape";

/** Maps a key press to an editor command: Cmd on macOS, Ctrl elsewhere. */
export function commandFor(
  e: { key: string; metaKey: boolean; ctrlKey: boolean; shiftKey: boolean; altKey: boolean },
  mac: boolean,
): EditorCommand | null {
  const mod = hasModKey(e, mac);
  const k = e.key.toLowerCase();
  if (e.key === "Delete" || e.key === "Backspace") return mod || e.altKey ? null : "delete";
  if (e.key === "Escape") return "escape";
  if (!mod || e.altKey) return null;
  if (k === "z") return e.shiftKey ? "redo" : "undo";
  if (k === "y" && !mac) return "redo";
  if (e.shiftKey) return null;
  switch (k) {
    case "c":
      return "copy";
    case "v":
      return "paste";
    case "d":
      return "duplicate";
    case "a":
      return "selectAll";
    case "s":
      return "save";
  }
  return null;
}
