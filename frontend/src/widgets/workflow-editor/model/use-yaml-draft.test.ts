// @vitest-environment jsdom
import { act, cleanup, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DraftManifest, ParseResult } from "@/entities/workflow";

const renderManifest = vi.fn();
const parseManifest = vi.fn();
vi.mock("@/entities/workflow", async (original) => ({
  ...(await original<typeof import("@/entities/workflow")>()),
  renderManifest: (d: DraftManifest) => renderManifest(d),
  parseManifest: (y: string) => parseManifest(y),
}));

const { useYamlDraft } = await import("./use-yaml-draft");

const draft = (): DraftManifest => ({
  workflowId: 1,
  clientId: 7,
  name: "Intake",
  description: "",
  graph: { nodes: [], edges: [] },
});

const parsed = (name: string): ParseResult => ({
  valid: true,
  error: null,
  problems: [],
  workflow: { resourceName: "intake", clientId: 7, name, description: "", graph: draft().graph },
});

const broken: ParseResult = {
  valid: false,
  error: { message: "bad indent", line: 2, column: 1 },
  workflow: null,
  problems: [],
};

beforeEach(() => {
  vi.useFakeTimers();
  renderManifest.mockReset();
  parseManifest.mockReset();
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

function setup() {
  const onParsed = vi.fn();
  const hook = renderHook(() => useYamlDraft({ draft, onParsed }));
  return { hook, onParsed };
}

describe("useYamlDraft", () => {
  it("shows the rendered draft", async () => {
    renderManifest.mockResolvedValue({ name: "intake", yaml: "kind: Workflow\n" });
    const { hook } = setup();
    await act(() => hook.result.current.render());
    expect(hook.result.current.text).toBe("kind: Workflow\n");
    expect(hook.result.current.fileName).toBe("intake");
  });

  it("parses once typing pauses and puts what parses into the draft", async () => {
    parseManifest.mockResolvedValue(parsed("Renamed"));
    const { hook, onParsed } = setup();
    act(() => hook.result.current.edit("a"));
    act(() => hook.result.current.edit("ab"));
    expect(parseManifest).not.toHaveBeenCalled();
    await act(async () => vi.advanceTimersByTimeAsync(300));
    expect(parseManifest).toHaveBeenCalledTimes(1);
    expect(parseManifest).toHaveBeenCalledWith("ab");
    expect(onParsed).toHaveBeenCalledWith(expect.objectContaining({ name: "Renamed" }));
    expect(hook.result.current.mistake).toBeNull();
  });

  it("keeps a mistake for the view and leaves the draft alone", async () => {
    parseManifest.mockResolvedValue(broken);
    const { hook, onParsed } = setup();
    act(() => hook.result.current.edit("x:\n y"));
    await act(async () => vi.advanceTimersByTimeAsync(300));
    expect(hook.result.current.mistake).toEqual(broken.error);
    expect(onParsed).not.toHaveBeenCalled();
  });

  it("parses pending text at once when the view is left", async () => {
    parseManifest.mockResolvedValue(parsed("Now"));
    const { hook, onParsed } = setup();
    act(() => hook.result.current.edit("typed"));
    let complete = false;
    await act(async () => {
      complete = await hook.result.current.flush();
    });
    expect(complete).toBe(true);
    expect(parseManifest).toHaveBeenCalledWith("typed");
    expect(onParsed).toHaveBeenCalledTimes(1);
    // The timer that was waiting does not parse a second time.
    await act(async () => vi.advanceTimersByTimeAsync(1000));
    expect(parseManifest).toHaveBeenCalledTimes(1);
  });

  it("drops the answer to an older parse", async () => {
    let answerFirst!: (r: ParseResult) => void;
    parseManifest
      .mockImplementationOnce(() => new Promise<ParseResult>((r) => (answerFirst = r)))
      .mockResolvedValueOnce(parsed("Second"));
    const { hook, onParsed } = setup();
    act(() => hook.result.current.edit("first"));
    await act(async () => vi.advanceTimersByTimeAsync(300));
    act(() => hook.result.current.edit("second"));
    await act(async () => vi.advanceTimersByTimeAsync(300));
    await act(async () => answerFirst(parsed("First")));
    expect(onParsed).toHaveBeenCalledTimes(1);
    expect(onParsed).toHaveBeenCalledWith(expect.objectContaining({ name: "Second" }));
  });

  it("loads a file only when it is a manifest of this client", async () => {
    const { hook, onParsed } = setup();
    parseManifest.mockResolvedValueOnce(broken);
    await act(async () => {
      expect((await hook.result.current.load("junk")).kind).toBe("mistake");
    });
    expect(hook.result.current.text).toBe("");
    expect(hook.result.current.mistake).toBeNull();
    parseManifest.mockResolvedValueOnce({
      ...parsed("Other"),
      workflow: { ...parsed("Other").workflow!, clientId: 8 },
    });
    await act(async () => {
      expect((await hook.result.current.load("other client")).kind).toBe("mistake");
    });
    parseManifest.mockResolvedValueOnce(parsed("From file"));
    await act(async () => {
      expect((await hook.result.current.load("good")).kind).toBe("apply");
    });
    expect(hook.result.current.text).toBe("good");
    expect(onParsed).toHaveBeenCalledTimes(1);
  });
});
