import { useCallback, useEffect, useRef, useState } from "react";
import {
  compareGraphs,
  parseManifest,
  renderManifest,
  type DraftManifest,
  type Graph,
  type ManifestError,
  type ParsedWorkflow,
  type Problem,
} from "@/entities/workflow";
import { yamlOutcome, type YamlOutcome } from "./yaml-outcome";

/** How long typing pauses before the text is parsed. */
const PARSE_DELAY_MS = 300;

/** Whether two graphs hold the same nodes, places and wiring. */
export function isSameGraph(a: Graph, b: Graph): boolean {
  const d = compareGraphs(a, b);
  return (
    d.nodes.every((n) => n.state === "same" && !n.moved) && d.edges.every((e) => e.state === "same")
  );
}

export interface YamlDraftOptions {
  /** The draft as it stands (canvas, name, description). */
  draft: () => DraftManifest;
  /** Puts a parsed manifest into the draft. */
  onParsed: (w: ParsedWorkflow) => void;
  clientName?: string;
}

/**
 * The YAML view's text: rendered from the draft when the view opens, parsed
 * after each pause in typing, and put back into the draft when it parses.
 */
export function useYamlDraft({ draft, onParsed, clientName }: YamlDraftOptions) {
  const [text, setText] = useState("");
  const [fileName, setFileName] = useState("");
  const [mistake, setMistake] = useState<ManifestError | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [busy, setBusy] = useState<"rendering" | "parsing" | null>(null);
  // Only the answer to the latest request counts.
  const seq = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  // Text typed but not parsed yet (the pause has not ended).
  const pending = useRef<string | null>(null);
  useEffect(() => () => clearTimeout(timer.current), []);

  const render = useCallback(async () => {
    const mine = ++seq.current;
    clearTimeout(timer.current);
    pending.current = null;
    setBusy("rendering");
    try {
      const m = await renderManifest(draft());
      if (mine !== seq.current) return;
      setText(m.yaml);
      setFileName(m.name);
      setMistake(null);
      setProblems([]);
    } catch (e) {
      if (mine === seq.current)
        setMistake({ message: `Could not render the manifest: ${String((e as Error).message)}` });
    } finally {
      if (mine === seq.current) setBusy(null);
    }
  }, [draft]);

  /** Parses `yaml` and applies it to the draft when it may be; returns what it meant. */
  const parse = useCallback(
    async (yaml: string): Promise<YamlOutcome | null> => {
      const mine = ++seq.current;
      setBusy("parsing");
      try {
        const result = await parseManifest(yaml, draft().workflowId);
        if (mine !== seq.current) return null;
        const outcome = yamlOutcome(result, draft().clientId, clientName);
        setProblems(result.problems);
        if (outcome.kind === "apply") {
          setMistake(null);
          setFileName(outcome.workflow.resourceName);
          onParsed(outcome.workflow);
        } else {
          setMistake(outcome.mistake);
        }
        return outcome;
      } finally {
        if (mine === seq.current) setBusy(null);
      }
    },
    [draft, onParsed, clientName],
  );

  const parseNow = useCallback(
    (yaml: string) => {
      pending.current = null;
      return parse(yaml).catch((e: Error) => {
        setMistake({ message: e.message });
        return null;
      });
    },
    [parse],
  );

  const edit = useCallback(
    (yaml: string) => {
      setText(yaml);
      pending.current = yaml;
      clearTimeout(timer.current);
      timer.current = setTimeout(() => void parseNow(yaml), PARSE_DELAY_MS);
    },
    [parseNow],
  );

  /**
   * Parses text still waiting for its pause (leaving the view right after
   * typing); says whether the draft holds everything the view shows.
   */
  const flush = useCallback(async (): Promise<boolean> => {
    clearTimeout(timer.current);
    if (pending.current != null) {
      const outcome = await parseNow(pending.current);
      return outcome?.kind === "apply";
    }
    return mistake == null;
  }, [parseNow, mistake]);

  /**
   * Loads a whole manifest (an uploaded file) into the draft and the view;
   * a file that is not one leaves both as they were.
   */
  const load = useCallback(
    async (yaml: string): Promise<YamlOutcome> => {
      clearTimeout(timer.current);
      pending.current = null;
      ++seq.current;
      const result = await parseManifest(yaml, draft().workflowId);
      const outcome = yamlOutcome(result, draft().clientId, clientName);
      if (outcome.kind === "apply") {
        setText(yaml);
        setMistake(null);
        setProblems(result.problems);
        setFileName(outcome.workflow.resourceName);
        onParsed(outcome.workflow);
      }
      return outcome;
    },
    [draft, onParsed, clientName],
  );

  return { text, fileName, mistake, problems, busy, render, edit, flush, load };
}
