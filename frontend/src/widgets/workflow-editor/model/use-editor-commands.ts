import { useCallback, useEffect } from "react";
import { isMac, isTypingTarget } from "@/shared/lib";
import { copyNodes, pasteNodes } from "@/features/clipboard";
import { useEditorContext } from "./context";
import { commandFor, type EditorCommand } from "./shortcuts";

/** Runs editor commands, and binds them to their keys while the editor is mounted. */
export function useEditorCommands(save: () => void) {
  const { store } = useEditorContext();
  const runCommand = useCallback(
    (cmd: EditorCommand) => {
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
    [store, save],
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
