import { createContext, useContext } from "react";
import { useStore } from "zustand";
import type { EditorState, EditorStore, TemplateLookup } from "@/entities/workflow";

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
