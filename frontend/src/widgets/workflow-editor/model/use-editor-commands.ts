import { useCallback, useEffect } from "react";
import { isMac, isTypingTarget } from "@/shared/lib";
import { copyNodes, pasteNodes } from "@/features/clipboard";
import { useEditorContext } from "./context";
import { commandFor, type EditorCommand } from "./shortcuts";

/** What a read-only editor still does: nothing that changes the graph. */
const READ_ONLY_COMMANDS = new Set<EditorCommand>(["selectAll", "escape", "copy"]);

/** Runs editor commands, and binds them to their keys while the editor is mounted. */
export function useEditorCommands(save: () => void, readOnly = false) {
  const { store } = useEditorContext();
  const runCommand = useCallback(
    (cmd: EditorCommand) => {
      if (readOnly && !READ_ONLY_COMMANDS.has(cmd)) return;
      const s = store.getState();
      switch (cmd) {
        case "undo":
          return s.undo();
        case "redo":
          return s.redo();
        case "selectAll":
          return s.selectAll();
        case "delete":
          return s.removeSelected();
        case "duplicate":
          return void s.duplicate();
        case "escape":
          return s.select([]);
        case "save":
          return save();
        case "copy":
          return copyNodes(s.copy());
        case "paste":
          return pasteNodes((clip) => s.paste(clip));
      }
    },
    [store, save, readOnly],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // Text fields and open dialogs keep their own meaning of these keys.
      if (isTypingTarget(e.target) || document.querySelector("[role=dialog]")) return;
      const cmd = commandFor(e, isMac);
      if (!cmd) return;
      e.preventDefault();
      runCommand(cmd);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [runCommand]);

  return runCommand;
}
