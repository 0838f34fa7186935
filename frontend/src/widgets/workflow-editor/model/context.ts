import { createContext, useContext } from "react";
import { useStore } from "zustand";
import type { TemplateLookup } from "@/entities/workflow";
import type { EditorState, EditorStore } from "./editor-store";

export const EditorContext = createContext<{ store: EditorStore; lookup: TemplateLookup } | null>(
  null,
);

export function useEditorContext() {
  const ctx = useContext(EditorContext);
  if (!ctx) throw new Error("workflow editor context missing");
  return ctx;
}

export function useEditor<T>(selector: (s: EditorState) => T): T {
  return useStore(useEditorContext().store, selector);
}
