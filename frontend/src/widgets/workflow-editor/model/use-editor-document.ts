import { useCallback, useMemo, useRef, useState } from "react";
import { useDebounced } from "@/shared/lib";
import {
  validateGraph,
  type Graph,
  type Problem,
  type TemplateLookup,
  type Workflow,
} from "@/entities/workflow";
import { useEditor, useEditorContext } from "./context";

export function graphOf(w: Workflow): Graph {
  return w.graph as unknown as Graph;
}

/**
 * The workflow around the graph: the stored revision being edited, its name,
 * its problems, and whether anything differs from what is stored.
 */
export function useEditorDocument(
  initial: Workflow,
  lookup: TemplateLookup,
  onSaved: (w: Workflow) => void,
) {
  const { store } = useEditorContext();
  const [base, setBase] = useState<Workflow>(initial);
  const [name, setName] = useState(initial.name);
  // Edited only through the YAML view and uploads; saved with the graph.
  const [description, setDescription] = useState(initial.description);
  const [serverProblems, setServerProblems] = useState<Problem[] | null>(
    (initial.problems as Problem[]) ?? null,
  );
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const dirty =
    useEditor((s) => s.version !== s.savedVersion) ||
    name !== base.name ||
    description !== base.description;

  // Client-side validation runs shortly after each edit; positions do not matter to it.
  const structure = useDebounced(
    useMemo(() => ({ nodes, edges }), [nodes, edges]),
    120,
  );
  const clientProblems = useMemo(() => validateGraph(structure, lookup), [structure, lookup]);
  const version = useEditor((s) => s.version);
  const savedVersion = useRef(version);
  // Server problems describe the saved graph; once edited, the client's view takes over.
  const problems =
    serverProblems && version === savedVersion.current ? serverProblems : clientProblems;

  const snapshot = useCallback(() => {
    const s = store.getState();
    return { graph: { nodes: s.nodes, edges: s.edges }, version: s.version };
  }, [store]);

  const adoptSaved = useCallback(
    (saved: Workflow, versionAtSave: number) => {
      setBase(saved);
      // Edits made while the save was in flight stay unsaved.
      if (store.getState().version === versionAtSave) store.getState().markSaved();
      savedVersion.current = versionAtSave;
      setServerProblems((saved.problems as Problem[]) ?? []);
      onSaved(saved);
    },
    [store, onSaved],
  );

  const adoptLatest = useCallback(
    (w: Workflow) => {
      store.getState().load(graphOf(w));
      savedVersion.current = store.getState().version;
      setBase(w);
      setName(w.name);
      setDescription(w.description);
      setServerProblems((w.problems as Problem[]) ?? []);
    },
    [store],
  );

  /** Read at call time, unlike `dirty`, for actions that await. */
  const isDirtyNow = useCallback(() => {
    const s = store.getState();
    return s.version !== s.savedVersion || name !== base.name || description !== base.description;
  }, [store, name, base.name, description, base.description]);

  const currentProblems = useCallback(() => {
    const s = store.getState();
    return validateGraph({ nodes: s.nodes, edges: s.edges }, lookup);
  }, [store, lookup]);

  return {
    base,
    name,
    setName,
    description,
    setDescription,
    dirty,
    problems,
    problemsSource: (problems === serverProblems ? "server" : "client") as "server" | "client",
    snapshot,
    adoptSaved,
    adoptLatest,
    isDirtyNow,
    currentProblems,
  };
}
